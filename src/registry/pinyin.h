/* pinyin.h — pinyin initials of names, for finding a household by typing
 * "zsf" for 张三丰 on a phone.  The table of initials is generated at build
 * time from the npm package pinyin-pro (scripts/gen-pinyin → gen/pinyin.c). */
#ifndef REGISTRY_PINYIN_H
#define REGISTRY_PINYIN_H

#include <stddef.h>
#include <stdint.h>

/* The lower-case pinyin initial of code point `cp` ('a'..'z'), or 0 when it
 * is not a CJK character with a reading.  With `surname` set, the reading as
 * a surname where that differs (曾 z, 单 s, 解 x, 仇 q). */
char registry_pinyin_initial(uint32_t cp, int surname);

/* The initials of name `name` into out[n] (lower case, NUL-terminated, cut
 * to fit): one letter per CJK character (the first read as a surname), ASCII
 * letters and digits kept lower-cased, everything else (· spaces, other
 * scripts) skipped.  张三丰 → "zsf", 曾小明 → "zxm", 阿依古丽·买买提 → "aygl mmt"
 * without the space: "ayglmmt". */
void registry_name_initials(const char *name, char *out, size_t n);

#endif
