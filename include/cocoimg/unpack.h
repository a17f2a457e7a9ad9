/* libcocoimg: unpacking an image into a root filesystem.  Include <cocoimg.h>. */
#ifndef COCOIMG_UNPACK_H
#define COCOIMG_UNPACK_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
