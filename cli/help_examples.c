/* coco-img: the examples every `--help` ends with, one table for all
 * commands (the man page's EXAMPLES come from the same text). */
#include "cli.h"

#include <string.h>

static const struct {
	const char *cmd;
	const char *text;
} examples[] = {
	{ "copy",
	  "  coco-img copy docker://registry.example.com/app:1.0 oci:/srv/images/app:1.0\n"
	  "  coco-img copy --all --dest-creds USER:PASS oci:app:1.0 docker://registry.example.com/app:1.0\n"
	  "  coco-img copy --encryption-key jwe:pub.pem docker://alpine oci:alpine-enc:latest\n"
	  "  coco-img --tls-verify=false copy --digestfile app.digest oci:app:1.0 docker://localhost:5000/app:1.0\n" },
	{ "encrypt",
	  "  coco-img encrypt --encryption-key jwe:pub.pem oci:app:1.0 oci:app-enc:1.0\n"
	  "  coco-img encrypt --encryption-key coco:kbs:///default/key/app1:kek.bin --encrypt-layer -1 \\\n"
	  "      docker://registry.example.com/app:1.0 docker://registry.example.com/app:1.0-enc\n"
	  "  coco-img encrypt --all --encryption-key pkcs7:cert.pem oci:multi:1.0 oci:multi-enc:1.0\n" },
	{ "decrypt",
	  "  coco-img decrypt --decryption-key priv.pem oci:app-enc:1.0 oci:app:1.0\n"
	  "  coco-img decrypt --decryption-key coco-keys:keys.json docker://registry.example.com/app:1.0-enc oci:app:1.0\n" },
	{ "verify",
	  "  coco-img verify --policy policy.json docker://registry.example.com/app:1.0\n"
	  "  coco-img verify --output json --policy kbs:///default/policy/app docker://registry.example.com/app:1.0\n" },
	{ "verify-blob",
	  "  coco-img verify-blob --bundle artifact.sigstore.json --key cosign.pub artifact.tar\n"
	  "  coco-img verify-blob --bundle b.json --trusted-root trusted_root.json \\\n"
	  "      --certificate-identity dev@example.com --certificate-oidc-issuer https://accounts.example.com sha256:HEX\n" },
	{ "unpack",
	  "  coco-img unpack docker://registry.example.com/app:1.0 /run/rootfs\n"
	  "  coco-img unpack --policy policy.json --decryption-key priv.pem oci:app-enc:1.0 ./rootfs\n"
	  "  coco-img unpack --kbs https://kbs.example.com:8080 --require-encrypted docker://registry.example.com/app:1.0 ./rootfs\n" },
	{ "inspect",
	  "  coco-img inspect docker://alpine\n"
	  "  coco-img inspect --raw docker://registry.example.com/app:1.0\n"
	  "  coco-img inspect --config --platform linux/arm64 oci:multi:1.0\n"
	  "  coco-img inspect --output json oci:app-enc:1.0\n" },
	{ "sign",
	  "  coco-img sign --key cosign.key --passphrase-file pass.txt docker://registry.example.com/app:1.0\n"
	  "  coco-img sign --key key.pem --recursive docker://registry.example.com/multi:1.0\n"
	  "  coco-img sign --key key.pem --bundle-format=v3 --rekor-url https://rekor.example.com docker://registry.example.com/app:1.0\n"
	  "  coco-img sign --fulcio-url https://fulcio.example.com --rekor-url https://rekor.example.com --identity-token @token.jwt --bundle-format=v3 docker://registry.example.com/app:1.0\n" },
	{ "generate-key-pair",
	  "  COSIGN_PASSWORD=secret coco-img generate-key-pair\n"
	  "  coco-img generate-key-pair --output-key-prefix release --passphrase-file pass.txt\n" },
	{ "login",
	  "  coco-img login registry.example.com\n"
	  "  printf '%s' \"$TOKEN\" | coco-img login --username ci --password-stdin registry.example.com:5000\n"
	  "  coco-img login --authfile ./auth.json --tls-verify=false -u alice -p secret localhost:5000\n" },
	{ "logout",
	  "  coco-img logout registry.example.com\n"
	  "  coco-img logout --all\n" },
	{ "version", "  coco-img version\n" },
};

const char *cli_examples(const char *cmd)
{
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		if (!strcmp(examples[i].cmd, cmd))
			return examples[i].text;
	return NULL;
}
