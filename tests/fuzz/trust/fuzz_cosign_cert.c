/* Fuzz the legacy cosign certificate and Rekor SET checks: one stored
 * sigstore signature (containers/image's "sigstore-json" blob, as the
 * fixtures hold them) through the verifier with key + Rekor, Fulcio and
 * PKI trust.  The trust material is containers/image's public fixtures
 * (tests/data/containers-image-signature: rekor.pub, fulcio_v1.crt.pem,
 * pki_root_crts.pem), so the seeds made with them reach the deep checks. */
#include "base.h"
#include "trust/trust.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

static const char rekor_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr\n"
	"kBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==\n"
	"-----END PUBLIC KEY-----\n";

static const char fulcio_ca[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB9zCCAXygAwIBAgIUALZNAPFdxHPwjeDloDwyYChAO/4wCgYIKoZIzj0EAwMw\n"
	"KjEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MREwDwYDVQQDEwhzaWdzdG9yZTAeFw0y\n"
	"MTEwMDcxMzU2NTlaFw0zMTEwMDUxMzU2NThaMCoxFTATBgNVBAoTDHNpZ3N0b3Jl\n"
	"LmRldjERMA8GA1UEAxMIc2lnc3RvcmUwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAT7\n"
	"XeFT4rb3PQGwS4IajtLk3/OlnpgangaBclYpsYBr5i+4ynB07ceb3LP0OIOZdxex\n"
	"X69c5iVuyJRQ+Hz05yi+UF3uBWAlHpiS5sh0+H2GHE7SXrk1EC5m1Tr19L9gg92j\n"
	"YzBhMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBRY\n"
	"wB5fkUWlZql6zJChkyLQKsXF+jAfBgNVHSMEGDAWgBRYwB5fkUWlZql6zJChkyLQ\n"
	"KsXF+jAKBggqhkjOPQQDAwNpADBmAjEAj1nHeXZp+13NWBNa+EDsDP8G1WWg1tCM\n"
	"WP/WHPqpaVo0jhsweNFZgSs0eE7wYI4qAjEA2WB9ot98sIkoF3vZYdd3/VtWB5b9\n"
	"TNMea7Ix/stJ5TfcLLeABLE4BNJOsQ4vnBHJ\n"
	"-----END CERTIFICATE-----\n";

static const char pki_root[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIFvzCCA6egAwIBAgIUXWPK4lTYSzVmuy0Y7qwX8KnjLyQwDQYJKoZIhvcNAQEL\n"
	"BQAwbjELMAkGA1UEBhMCRVMxETAPBgNVBAcMCFZhbGVuY2lhMQswCQYDVQQKDAJJ\n"
	"VDERMA8GA1UECwwIU2VjdXJpdHkxLDAqBgNVBAMMI0xpbnV4ZXJhIFJvb3QgQ2Vy\n"
	"dGlmaWNhdGUgQXV0aG9yaXR5MCAXDTI0MTAwMTE0Mjg0MFoYDzIwNTIwMjE2MTQy\n"
	"ODQwWjBuMQswCQYDVQQGEwJFUzERMA8GA1UEBwwIVmFsZW5jaWExCzAJBgNVBAoM\n"
	"AklUMREwDwYDVQQLDAhTZWN1cml0eTEsMCoGA1UEAwwjTGludXhlcmEgUm9vdCBD\n"
	"ZXJ0aWZpY2F0ZSBBdXRob3JpdHkwggIiMA0GCSqGSIb3DQEBAQUAA4ICDwAwggIK\n"
	"AoICAQCn0zNxEO67Fyn78wOMDImkj/7Egll0y0ugUJiaWYos9fScmkeBK/03I44n\n"
	"4WE3kEHg+qqSXFhw6arDuhKW0Xs9f32BfVkLNLg4HY9B8PV/gYk7effhk8rvHW5v\n"
	"Z+ZmOCFHrVvCPM3vgVteVjOd44Y3qUQQ5CDv0b9AosSkgjVwCAoigEcZgx5fxB7r\n"
	"ECTdmHQVRs75yyRWLGMtCpGogvHm7LYyfrphf5nxjLm2pKaqNR7guCr98mtgdgwr\n"
	"9ZiAPna095Jh1Awoh4a+cyCGV7HCZtbg093M/Iq3ffeaMQENu2rIEdTu6Pn4/a4T\n"
	"LfnIJHtAv5wwrWHNb7LVDm9oXTTEDgdKRDICcexvetM5PrZKTUgj4Coy/6eVWFdU\n"
	"1Bezpg7j+mJeU/um/bYpzXGOs0RrdWtOSQPsmM3RHVP12ehNGCqAAVFkUHMHTpNE\n"
	"eoN+EYqSWfvDt7JRxNXhV4Uc6rHoLyw2fEG0CQjdTn7OukgCRJabIecF7DT9Jv17\n"
	"PTx8CPj97TrY8EAivCAfEhJkbH5fUVkAnuOKz8KMXpbvZ8Ttomp4OI1rOR9Rbhnu\n"
	"nEcm2Xd0MiNBkkn56S+D2otsnW6qFWmboPE+cjGYW5ksg6vMunjTJ4wsYMUhxnM7\n"
	"K4dbDgAGU9Cjqn03tRBTTwfQR6gza/l1BBNqlr5wIudNxCCDYQIDAQABo1MwUTAd\n"
	"BgNVHQ4EFgQUWlcNP3KwWq7SSH+Jaz2rjI3jtw8wHwYDVR0jBBgwFoAUWlcNP3Kw\n"
	"Wq7SSH+Jaz2rjI3jtw8wDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOC\n"
	"AgEApzYd62cxGhYwC6B1o2/sxldvk3O6G6HeBDX9RAYShcdNW5MDHI8+I9kU2hjw\n"
	"2EHORfZ2U5yOfL7Nyj3qjiOjCKwoQYZvB58ot18tazGVvQxIIuIcclTRrDT1zHTr\n"
	"NfjQednpE0gq4q34ltWFgi4qUX77i5pMtVk9kSYngHthmvI+oICuZswqCCRK7cL1\n"
	"bKISWvimFVTKRTjpGuO1uUfrwUz5Vx1vtRIIUDFMldaC5q/UDHi4rwoM68ILnnTq\n"
	"tmbQPzj80u5f6SIQ4wquBXGUO513iSW6jzP0h6hnBpJbYoXm0JrtDL7/puVGPXEc\n"
	"Tp4YgmPRhzl0w1vpBe+Lf2DxhL8lBrriEo+VrYxS366hKZob2f7FJLnoVYElrd0H\n"
	"i9kifgvqdY3DJJsScAcFjSA/J4AYQJvriljKBgjDoe1Qh4AJXDNjD2ZiLb1TOKim\n"
	"xyK8FKVs8Ww3aCteB5W0XDSQCsOvQWBF7dQR7gGYaAkp+nYGMGOTEaoDS4B2E2Qp\n"
	"iw/AQ/X7Z5SO81llKgKJw2+7lpAMLs+WgG+AV0KpF5vA7vK5W3bosMxDvcpBHRT2\n"
	"3flk1yebUUxDZ/6wEN6XZ8Ve0GfXFpg19eY8Fv2HRGIlNGkqrsAUAdzv2JBLfRYS\n"
	"aj4kcwBrVtJ1h3Q7VPuigeiDR/9TZUv3QEphm4GgaTM+BK0=\n"
	"-----END CERTIFICATE-----\n";

static void run(cocoimg_ctx *ctx, const coco_sigstore_sig *s, const coco_cosign_trust *t)
{
	char *d = NULL, *r = NULL;
	coco_sigcheck f;
	if (coco_cosign_verify_ex(ctx, s, t, &d, &r, &f) == 0 && (!d || !r))
		abort();
	free(d);
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_sigstore_sig s;
	char *mime = NULL;
	EVP_PKEY **rk = NULL;
	size_t nr = 0;
	coco_trustroot *ca = NULL;
	STACK_OF(X509) *roots = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(pki_root, -1);
	X509 *root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!roots || !root || !sk_X509_push(roots, root))
		abort();
	if (coco_pubkeys_load_pem(ctx, (const unsigned char *)rekor_pub, strlen(rekor_pub), &rk,
	                          &nr) || coco_trustroot_new(ctx, &ca) ||
	    coco_trustroot_add_ca_pem(ctx, ca, fulcio_ca, strlen(fulcio_ca)))
		abort();
	if (coco_sigstore_sig_from_blob(ctx, data, size, &s, &mime) == 0) {
		coco_cosign_trust key = { .keys = rk, .n_keys = nr, .rekor_keys = rk,
		                          .n_rekor_keys = nr };
		coco_cosign_trust fu = { .rekor_keys = rk, .n_rekor_keys = nr, .fulcio = true,
		                         .fulcio_root = ca, .oidc_issuer = "https://github.com/login/oauth",
		                         .subject_email = "mitr@redhat.com" };
		coco_pki_trust pt = { .roots = roots, .subject_email = "qiwan@redhat.com",
		                      .subject_hostname = "myhost.example.com" };
		coco_cosign_trust pki = { .pki = true, .pki_trust = &pt };
		run(ctx, &s, &key);
		run(ctx, &s, &fu);
		run(ctx, &s, &pki);
		coco_buf_free(&s.payload);
		free(s.signature_b64);
		free(s.cert_pem);
		free(s.chain_pem);
		free(s.bundle_json);
		free(s.rfc3161_json);
		free(mime);
	}
	sk_X509_pop_free(roots, X509_free);
	coco_trustroot_free(ca);
	coco_pubkeys_free(rk, nr);
	cocoimg_ctx_free(ctx);
	return 0;
}
