/* pinyin.c — the initials of a name (see pinyin.h) over the generated table. */
#include "registry/pinyin.h"

void registry_name_initials(const char *name, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t o = 0;
	int first_cjk = 1;
	if (!n)
		return;
	while (p && *p && o + 1 < n) {
		uint32_t cp;
		int len;
		if (*p < 0x80) {
			unsigned char c = *p;
			if (c >= 'A' && c <= 'Z')
				out[o++] = (char)(c - 'A' + 'a');
			else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
				out[o++] = (char)c;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			len = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			len = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			len = 4;
		} else {
			p++;
			continue;
		}
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = -i; /* truncated: skip the bytes seen */
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (len < 0) {
			p += -len;
			continue;
		}
		p += len;
		{
			char c = registry_pinyin_initial(cp, first_cjk);
			if (c) {
				out[o++] = c;
				first_cjk = 0;
			}
		}
	}
	out[o] = '\0';
}
