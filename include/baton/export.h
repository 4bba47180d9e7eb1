/*  export.h - marks the symbols libbaton exports; the library is built with
 *  -fvisibility=hidden, so only what carries BATON_EXPORT is visible.  */
#ifndef BATON_EXPORT_H
#define BATON_EXPORT_H

#if defined(__GNUC__)
#define BATON_EXPORT __attribute__ ((visibility ("default")))
#else
#define BATON_EXPORT
#endif

#endif
