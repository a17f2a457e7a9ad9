#!/bin/bash
# coco-img generate-key-pair and the passphrase of signing keys: cosign.key
# in cosign's encrypted format and cosign.pub checked by an independent
# reader (python hashlib.scrypt + libsodium secretbox_open + cryptography),
# file names and modes, the overwrite question, --passphrase-file,
# COSIGN_PASSWORD, and the terminal prompt driven through a pty by
# util-linux `script` (no echo, asked twice when generating, refused
# without a terminal); then `coco-img sign` with the generated key.
. "$TOP_SRCDIR/tests/lib/common.sh"
TOOL="$PY $LIB/cosign_tool.py"
GEN="$COCO_IMG generate-key-pair"

mkdir -p "$T/k" && cd "$T/k" || exit 1

check "generate with COSIGN_PASSWORD: cosign.key + cosign.pub" env COSIGN_PASSWORD=hunter2 $GEN
check "the key is cosign's format and opens with the passphrase" $TOOL check-key cosign.key cosign.pub hunter2
check "modes: cosign.key 0600, cosign.pub 0644" \
	test "$(stat -c %a cosign.key) $(stat -c %a cosign.pub)" = "600 644"
check "--output-key-prefix and --passphrase-file (first line)" bash -c "
	printf 'line one\nline two\n' > pw && $GEN --output-key-prefix other --passphrase-file pw &&
	$TOOL check-key other.key other.pub 'line one'"
check "empty COSIGN_PASSWORD is a passphrase (the empty one)" bash -c "
	COSIGN_PASSWORD= $GEN --output-key-prefix empty </dev/null && $TOOL check-key empty.key empty.pub ''"
check "--output json names both files" bash -c "
	COSIGN_PASSWORD=x $GEN --output-key-prefix j --output json > j.json &&
	$PY -c 'import json; j=json.load(open(\"j.json\")); assert j=={\"private_key\":\"j.key\",\"public_key\":\"j.pub\"}, j'"

# an existing key file: cosign's question on stdin
cp cosign.key keep.key
check "existing cosign.key, answer n: exit 1, file unchanged" bash -c "
	echo n | COSIGN_PASSWORD=x $GEN 2>err; rc=\$?; cat err
	[ \$rc -eq 1 ] && grep -q 'already exists' err && cmp cosign.key keep.key"
check "existing cosign.key, no answer (EOF): declined" bash -c "
	COSIGN_PASSWORD=x $GEN </dev/null; [ \$? -eq 1 ] && cmp cosign.key keep.key"
check "existing cosign.key, answer y: overwritten" bash -c "
	echo y | COSIGN_PASSWORD=newpw $GEN && ! cmp -s cosign.key keep.key && $TOOL check-key cosign.key cosign.pub newpw"

# no passphrase anywhere and no terminal: refused
check "no terminal, no COSIGN_PASSWORD: exit 2 naming both ways" bash -c "
	unset COSIGN_PASSWORD; $GEN --output-key-prefix none </dev/null 2>err; rc=\$?; cat err
	[ \$rc -eq 2 ] && grep -q -- --passphrase-file err && grep -q COSIGN_PASSWORD err && [ ! -e none.key ]"

# ---- the prompt on a terminal: `script` gives the command a pty ----
# pty_run OUT CMD LINE... : run CMD on a pty, typing each LINE after the
# next "password" prompt shows up in OUT (what the terminal displayed).
pty_run() {
	_out=$1 _cmd=$2; shift 2
	rm -f "$T/fifo" "$_out"; mkfifo "$T/fifo"
	env -u COSIGN_PASSWORD script -qfec "$_cmd" /dev/null <"$T/fifo" >"$_out" 2>&1 &
	_pid=$!
	exec 7>"$T/fifo"
	_n=0
	for _line in "$@"; do
		_n=$((_n + 1))
		_i=0
		while [ "$(grep -o 'Enter password for private key' "$_out" 2>/dev/null | wc -l)" -lt $_n ]; do
			_i=$((_i + 1)); [ $_i -gt 400 ] && { echo "no prompt $_n:"; cat "$_out"; break; }
			sleep 0.05
		done
		printf '%s\n' "$_line" >&7
	done
	wait $_pid; _rc=$?
	exec 7>&-
	return $_rc
}
check "prompt: asked twice, nothing echoed, the key opens" bash -c "$(declare -f pty_run); T='$T'
	pty_run '$T/tty1' 'cd $T/k && $GEN --output-key-prefix tty' 'pty secret' 'pty secret' || { cat '$T/tty1'; exit 1; }
	cat '$T/tty1'
	grep -q 'Enter password for private key again' '$T/tty1' && ! grep -q 'pty secret' '$T/tty1' &&
	$TOOL check-key tty.key tty.pub 'pty secret'"
check "prompt: different answers are refused (exit 2)" bash -c "$(declare -f pty_run); T='$T'
	pty_run '$T/tty2' 'cd $T/k && $GEN --output-key-prefix tty2' 'one' 'two'; rc=\$?
	cat '$T/tty2'; [ \$rc -eq 2 ] && grep -q 'passwords do not match' '$T/tty2' && [ ! -e tty2.key ]"

# ---- sign with the generated key ----
mkimage "$T/lay:v1" >/dev/null
SIGN="$COCO_IMG sign --sign-identity example.com/app"
check "sign with COSIGN_PASSWORD" env COSIGN_PASSWORD=newpw $SIGN --key cosign.key "oci:$T/lay:v1"
check "sign with a wrong COSIGN_PASSWORD: exit 2, not echoed" bash -c "
	COSIGN_PASSWORD=wrongpw $SIGN --key cosign.key 'oci:$T/lay:v1' 2>err; rc=\$?; cat err
	[ \$rc -eq 2 ] && grep -q 'cannot decrypt key' err && ! grep -q wrongpw err"
check "--passphrase-file wins over COSIGN_PASSWORD" bash -c "
	printf 'line one\n' > pw1 && COSIGN_PASSWORD=wrongpw $SIGN --key other.key --passphrase-file pw1 'oci:$T/lay:v1'"
check "encrypted key, no passphrase, no terminal: exit 2" bash -c "
	unset COSIGN_PASSWORD; $SIGN --key cosign.key 'oci:$T/lay:v1' </dev/null 2>err; rc=\$?; cat err
	[ \$rc -eq 2 ] && grep -q COSIGN_PASSWORD err"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out plain.pem
check "a plain key asks nothing (no terminal needed)" bash -c "
	unset COSIGN_PASSWORD; $SIGN --key plain.pem 'oci:$T/lay:v1' </dev/null"
check "sign: the prompt on a terminal (asked once)" bash -c "$(declare -f pty_run); T='$T'
	pty_run '$T/tty3' 'cd $T/k && $SIGN --key tty.key oci:$T/lay:v1' 'pty secret' || { cat '$T/tty3'; exit 1; }
	cat '$T/tty3'; ! grep -q 'again' '$T/tty3' && ! grep -q 'pty secret' '$T/tty3'"
D=sha256:$(sha256 "$T/lay/blobs/sha256/$(json_get "$T/lay/index.json" 'j["manifests"][0]["digest"][7:]')")
check "the attachment verifies with the generated cosign.pub (cosign's layout)" bash -c "
	rm -rf '$T/att' && $SKOPEO copy -q 'oci:$T/lay:${D/:/-}.sig' 'dir:$T/att' &&
	$TOOL check-attachment '$T/att' tty.pub example.com/app '$D' 4"

finish
