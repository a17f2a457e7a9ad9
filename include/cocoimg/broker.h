/* libcocoimg: keys, policies and credentials from a trust broker
 * (confidential guests).  Part of <cocoimg.h>. */
#include <cocoimg.h>

#ifndef COCOIMG_BROKER_H
#define COCOIMG_BROKER_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Resource URIs.  Wherever the library reads a file that a confidential
 * guest receives from its Key Broker Service (the trust policy, the auth
 * file, a registries.d file, a CA file, a private key, the key paths
 * inside policy.json), it also takes a resource URI
 *
 *   kbs:///REPOSITORY/TYPE/TAG   or   kbs://HOST:PORT/REPOSITORY/TYPE/TAG
 *
 * (the host part is ignored, as the confidential-data-hub ignores it).
 * The key id of a CoCo annotation packet is a resource URI too, and there
 * also /REPOSITORY/TYPE/TAG and REPOSITORY/TYPE/TAG are read.
 *
 * A URI is resolved, first match wins, by:
 *   1. the resources file (ctx option "resources": the offline_fs_kbc
 *      JSON object mapping "REPO/TYPE/TAG" to base64 content);
 *   2. the resource callback below;
 *   3. a confidential-data-hub (ctx option "cdh": its ttrpc socket,
 *      unix:///PATH or PATH): GetResource, and UnWrapKey for a CoCo
 *      packet's key (the packet is sent, the key is not fetched);
 *   4. a Key Broker Service (ctx option "kbs": its URL; "kbs-cert": a PEM
 *      CA file trusted for HTTPS; "attester": "tsm" (Linux configfs-tsm),
 *      "aa:SOCKET" (an attestation agent's ttrpc socket) or
 *      "sample" (the protocol's sample TEE, tests only: warns), default
 *      the evidence callback below, else tsm when the kernel has
 *      configfs-tsm), after remote attestation, once per context;
 * and the result (found or not) is kept for the life of the context:
 * each resource is fetched once per context.  Failures give the error
 * code of what was being fetched (COCOIMG_ENOKEY for a key,
 * COCOIMG_EPOLICY for the policy or a policy key when verifying,
 * COCOIMG_ECONFIG or COCOIMG_EINVAL otherwise); the message names the
 * URI and what each source answered, never the content.
 *
 * CoCo annotation packets are opened with, in order: the keyring's
 * coco-keys: and coco: keys, the keyring's key resolver
 * (cocoimg_keyring_set_resolver), then the chain above (the CDH unwraps
 * the packet, the other sources are asked for its key id as a resource).  Each key id is resolved once per
 * context.
 */

/** The reply a resource callback fills in. Opaque. */
typedef struct cocoimg_resource cocoimg_resource;

/**
 * Set the content of the resource (copied; the library wipes its copy
 * after use).  Returns 0, COCOIMG_EINVAL for a NULL reply or data, or
 * COCOIMG_ENOMEM.
 */
COCOIMG_API int cocoimg_resource_set_data(cocoimg_resource *res, const void *data, size_t len);

/**
 * Say why the resource is refused or unknown (copied, at most 255 bytes
 * kept; control characters are replaced).  The library puts it in its
 * error message: never put secrets here.
 */
COCOIMG_API void cocoimg_resource_set_message(cocoimg_resource *res, const char *message);

/**
 * Resource callback: a runtime supplies resources itself (its own KBS
 * client, a sealed store...).  uri is the normal form
 * "kbs:///REPO/TYPE/TAG".  Return 0 after cocoimg_resource_set_data();
 * any non-zero value means "not given" (with an optional message set on
 * res), and the next source is asked; COCOIMG_ECANCELLED aborts the
 * operation.  Called on the thread of the operation, at most once per
 * URI and context; it must not call back into the same context.
 */
typedef int (*cocoimg_resource_cb)(const char *uri, cocoimg_resource *res, void *payload);

/**
 * Install (cb non-NULL) or remove (cb NULL) the resource callback of a
 * context.  payload is passed through untouched.  Returns 0,
 * COCOIMG_EINVAL for a NULL context, or COCOIMG_ENOMEM.
 */
COCOIMG_API int cocoimg_ctx_set_resource_cb(cocoimg_ctx *ctx, cocoimg_resource_cb cb,
                                            void *payload);

/* ---- evidence for a KBS ------------------------------------------------ */

/** The reply an evidence callback fills in. Opaque. */
typedef struct cocoimg_evidence cocoimg_evidence;

/** Name the TEE the evidence is for ("tdx", "snp", "cca", "sample", ...;
 *  copied).  Returns 0, COCOIMG_EINVAL or COCOIMG_ENOMEM. */
COCOIMG_API int cocoimg_evidence_set_tee(cocoimg_evidence *ev, const char *tee);

/** Set the evidence: the JSON text the KBS's verifier for that TEE reads
 *  (copied, wiped by the library after use).  Returns 0, COCOIMG_EINVAL
 *  or COCOIMG_ENOMEM. */
COCOIMG_API int cocoimg_evidence_set_data(cocoimg_evidence *ev, const void *data, size_t len);

/** Say why the callback refuses (copied, at most 255 bytes kept; control
 *  characters are replaced).  The library puts it in its error message
 *  ("attester callback: refused to produce evidence: MESSAGE"): never put
 *  secrets here.  (Since 0.4.) */
COCOIMG_API void cocoimg_evidence_set_message(cocoimg_evidence *ev, const char *message);

/**
 * Evidence callback: a runtime that reaches its TEE itself (an attestation
 * agent, a vTPM...) supplies the evidence a KBS asks for.  Called first
 * with report_data NULL (set only the TEE name), then with the report data
 * to bind (at most 64 bytes: the hash the KBS protocol defines over its
 * nonce and the TEE key the library generated).  Return 0 after setting
 * the TEE and, when asked, the data; any other value refuses (the KBS
 * fetch then fails), with the reason set by cocoimg_evidence_set_message()
 * if there is one.  Runs on the thread of the operation.
 */
typedef int (*cocoimg_evidence_cb)(const unsigned char *report_data, size_t len,
                                   cocoimg_evidence *ev, void *payload);

/**
 * Install (cb non-NULL) or remove the evidence callback of a context.  It
 * is used for the KBS (ctx option "kbs") when no "attester" option is set.
 * Returns 0, COCOIMG_EINVAL for a NULL context, or COCOIMG_ENOMEM.
 */
COCOIMG_API int cocoimg_ctx_set_evidence_cb(cocoimg_ctx *ctx, cocoimg_evidence_cb cb,
                                            void *payload);

#ifdef __cplusplus
}
#endif
#endif
