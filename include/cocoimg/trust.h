/* libcocoimg: trust policy and signatures.  Include <cocoimg.h>. */
#ifndef COCOIMG_TRUST_H
#define COCOIMG_TRUST_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
