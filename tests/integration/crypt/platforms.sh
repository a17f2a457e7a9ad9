#!/bin/bash
# ctr-enc's --platform for encrypt and decrypt: a comma-separated list (or
# the option repeated, or one platform with --all) keeps the whole index
# and processes only the instances of the platforms listed; the others are
# copied as they are and stay in the index, as imgcrypt's layer filter
# does (cmd/ctr/commands/images/crypt_utils.go).  One platform without
# --all still picks that image, as every other command does.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG
cd "$T" || exit 1
openssl genrsa -out priv.pem 2048 2>/dev/null && openssl rsa -in priv.pem -pubout -out pub.pem 2>/dev/null || exit 1
AMD=$(mkimage "$T/m:amd" --platform linux/amd64 --layer 'f:arch=amd64\n')
ARM=$(mkimage "$T/m:arm" --platform linux/arm/v7 --layer 'f:arch=arm\n')
ARM64=$(mkimage "$T/m:arm64" --platform linux/arm64/v8 --layer 'f:arch=arm64\n')
mkimage "$T/m:multi" --index-of "$T/m:amd" "$T/m:arm" "$T/m:arm64" >/dev/null

# inst DIR PLATFORM-SUBSTRING: the digest of the index entry whose platform
# (os/arch[/variant]) is that
inst() { json_get "$1/blobs/sha256/$(json_get "$1/index.json" "j['manifests'][-1]['digest'][7:]")" \
    "[m['digest'] for m in j['manifests'] if '/'.join([m['platform']['os'],m['platform']['architecture']]+([m['platform']['variant']] if 'variant' in m['platform'] else []))=='$2'][0]"; }
# encrypted DIR PLATFORM: whether that instance's layers are all encrypted (True/False)
encrypted() { json_get "$1/blobs/sha256/$(inst "$1" "$2" | cut -c8-)" "all(l['mediaType'].endswith('+encrypted') for l in j['layers'])"; }
count() { json_get "$1/blobs/sha256/$(json_get "$1/index.json" "j['manifests'][-1]['digest'][7:]")" "len(j['manifests'])"; }

check "encrypt --platform A,B" "$C" encrypt -q --encryption-key jwe:pub.pem --platform linux/amd64,linux/arm64 "oci:$T/m:multi" "oci:$T/e1:t"
check "A,B: the index keeps its three instances" test "$(count e1)" = 3
check "A,B: amd64 encrypted" test "$(encrypted e1 linux/amd64)" = True
check "A,B: arm64 (v8) encrypted" test "$(encrypted e1 linux/arm64/v8)" = True
check "A,B: arm/v7 left as it was" test "$(encrypted e1 linux/arm/v7)" = False
check "A,B: arm/v7 instance unchanged (same digest)" test "$(inst e1 linux/arm/v7)" = "$ARM"
check "A,B: amd64 instance changed" test "$(inst e1 linux/amd64)" != "$AMD"

check "encrypt --platform repeated" "$C" encrypt -q --encryption-key jwe:pub.pem --platform linux/arm/v7 --platform linux/arm64 "oci:$T/m:multi" "oci:$T/e2:t"
check "repeated: arm/v7 and arm64 encrypted, amd64 not" test "$(encrypted e2 linux/arm/v7)$(encrypted e2 linux/arm64/v8)$(encrypted e2 linux/amd64)" = TrueTrueFalse
check "repeated: amd64 unchanged" test "$(inst e2 linux/amd64)" = "$AMD"

check "encrypt --all --platform A: index kept, only A" "$C" encrypt -q --all --encryption-key jwe:pub.pem --platform linux/arm "oci:$T/m:multi" "oci:$T/e3:t"
check "--all --platform linux/arm matches arm/v7 (containerd's matcher)" test "$(encrypted e3 linux/arm/v7)$(encrypted e3 linux/amd64)$(count e3)" = TrueFalse3

check "one --platform without --all: that image only" "$C" encrypt -q --encryption-key jwe:pub.pem --platform linux/arm64 "oci:$T/m:multi" "oci:$T/e4:t"
check "one --platform: an image manifest, not an index" test "$(json_get "$T/e4/index.json" "j['manifests'][-1]['mediaType']")" = application/vnd.oci.image.manifest.v1+json

check "decrypt --platform A of an index all encrypted" "$C" encrypt -q --all --encryption-key jwe:pub.pem "oci:$T/m:multi" "oci:$T/eall:t"
check "decrypt --platform linux/amd64,linux/arm/v7" "$C" decrypt -q --decryption-key priv.pem --platform linux/amd64,linux/arm/v7 "oci:$T/eall:t" "oci:$T/d1:t"
check "decrypt A,B: amd64 and arm/v7 decrypted" test "$(encrypted d1 linux/amd64)$(encrypted d1 linux/arm/v7)" = FalseFalse
same_as_all() { "$C" decrypt -q --all --decryption-key priv.pem "oci:$T/eall:t" "oci:$T/dall:t" && test "$(inst d1 linux/amd64)" = "$(inst dall linux/amd64)"; }
check "decrypt A,B: amd64 the same as decrypt --all gives" same_as_all
check "decrypt A,B: arm64 still encrypted" test "$(encrypted d1 linux/arm64/v8)" = True
check "decrypt A,B: arm64 the same as in the encrypted index" test "$(inst d1 linux/arm64/v8)" = "$(inst eall linux/arm64/v8)"

check "a platform no instance has: nothing processed, exit 0" "$C" encrypt -q --encryption-key jwe:pub.pem --platform linux/s390x,linux/ppc64le "oci:$T/m:multi" "oci:$T/e5:t"
check "no instance listed: every instance unchanged" test "$(inst e5 linux/amd64)$(inst e5 linux/arm/v7)" = "$AMD$ARM"
bad() { "$C" encrypt -q --encryption-key jwe:pub.pem --platform "$1" "oci:$T/m:multi" "oci:$T/bad" 2>"$T/bad.err"; }
check "--platform 'linux/amd64,,x': exit 2" expect_rc 2 bad "linux/amd64,,linux/arm64"
check "--platform with a malformed entry: exit 2" expect_rc 2 bad "linux/amd64,nonsense"
check "malformed: nothing written" test ! -e "$T/bad"
finish
