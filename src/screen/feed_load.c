/* feed_load.c — loading one department file: read and decode the CSV,
 * find the header (title rows allowed), validate every row, normalise each
 * 身份证号 and sum each person's rows in memory, match the people against
 * the registry, evaluate the feed's rules on each matched person (with the
 * year's earlier batches added for accumulating feeds) and, in one
 * transaction, store the batch, its per-person totals, its issues and its
 * hits, attaching each hit to the household's monitoring alert.
 *
 * Speed: one pass over the text; people are keyed by their 18-character
 * number packed into 64 bits in an open-addressing table; registry people
 * are read with one scan (or one lookup per person when the file names few
 * of them); nothing is written per row of the file. */
#include <math.h>
#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <sodium.h>
#include <xxhash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/csv.h"
#include "base/jw.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "monitor/monitor.h"
#include "registry/idcard.h"
#include "screen/feed_int.h"

static const char *const issue_kind_names[] = { "", "无效行", "查无此人", "姓名不一致",
						"不在辖区" };

void feed_report_init(struct feed_report *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->message, 0);
}

void feed_report_release(struct feed_report *r)
{
	buf_release(&r->message);
	free(r->issues);
	memset(r, 0, sizeof(*r));
}

/* ---- small arenas and tables ------------------------------------------------------ */

struct arena {
	char **blocks;
	int nr, alloc;
	size_t used, size;
};

static char *arena_dup(struct arena *a, const char *s, size_t n)
{
	char *p;
	if (!a->nr || a->used + n + 1 > a->size) {
		size_t sz = n + 1 > 1 << 20 ? n + 1 : 1 << 20;
		ALLOC_GROW(a->blocks, a->nr + 1, a->alloc);
		a->blocks[a->nr++] = xmalloc(sz);
		a->size = sz;
		a->used = 0;
	}
	p = a->blocks[a->nr - 1] + a->used;
	memcpy(p, s, n);
	p[n] = '\0';
	a->used += n + 1;
	return p;
}

/* n bytes aligned for doubles and pointers, uninitialised. */
static void *arena_alloc(struct arena *a, size_t n)
{
	void *p;
	a->used = (a->used + 7) & ~(size_t)7;
	if (!a->nr || a->used + n > a->size) {
		size_t sz = n > 1 << 20 ? n : 1 << 20;
		ALLOC_GROW(a->blocks, a->nr + 1, a->alloc);
		a->blocks[a->nr++] = xmalloc(sz);
		a->size = sz;
		a->used = 0;
	}
	p = a->blocks[a->nr - 1] + a->used;
	a->used += n;
	return p;
}

static void arena_release(struct arena *a)
{
	for (int i = 0; i < a->nr; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* Interned text values: the same string once (dates, categories, hospitals). */
struct intern {
	const char **slots;
	size_t size, nr;
	struct arena arena;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* The interned copy of the n bytes at s (which need not end in a NUL). */
static const char *intern_n(struct intern *t, const char *s, size_t n)
{
	size_t i;
	if ((t->nr + 1) * 2 > t->size) {
		size_t ns = t->size ? t->size * 2 : 1024;
		const char **slots = xcalloc(ns, sizeof(*slots));
		for (size_t k = 0; k < t->size; k++)
			if (t->slots[k]) {
				size_t j = hash_bytes(t->slots[k], strlen(t->slots[k])) & (ns - 1);
				while (slots[j])
					j = (j + 1) & (ns - 1);
				slots[j] = t->slots[k];
			}
		free(t->slots);
		t->slots = slots;
		t->size = ns;
	}
	i = hash_bytes(s, n) & (t->size - 1);
	while (t->slots[i]) {
		if (!strncmp(t->slots[i], s, n) && !t->slots[i][n])
			return t->slots[i];
		i = (i + 1) & (t->size - 1);
	}
	t->slots[i] = arena_dup(&t->arena, s, n);
	t->nr++;
	return t->slots[i];
}

static const char *intern(struct intern *t, const char *s)
{
	return intern_n(t, s, strlen(s));
}

static void intern_release(struct intern *t)
{
	free(t->slots);
	arena_release(&t->arena);
}

/* A normalised 18-character 身份证号 packed into 64 bits (never 0). */
static uint64_t id_key(const char *n18)
{
	uint64_t k = 0;
	for (int i = 0; i < 17; i++)
		k = k * 10 + (uint64_t)(n18[i] - '0');
	return k * 11 + (uint64_t)(n18[17] == 'X' ? 10 : n18[17] - '0') + 1;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Open addressing: uint64 key → int index (into some array), -1 = absent.
 * A key and its value share a slot: one cache line per look-up. */
struct keyslot {
	uint64_t key;
	int64_t val;
};

struct keymap {
	struct keyslot *slots;
	size_t size, nr;
};

static void keymap_grow(struct keymap *m)
{
	size_t ns = m->size ? m->size * 2 : 4096;
	struct keyslot *slots = xcalloc(ns, sizeof(*slots));
	for (size_t k = 0; k < m->size; k++)
		if (m->slots[k].key) {
			size_t j = mix64(m->slots[k].key) & (ns - 1);
			while (slots[j].key)
				j = (j + 1) & (ns - 1);
			slots[j] = m->slots[k];
		}
	free(m->slots);
	m->slots = slots;
	m->size = ns;
}

/* The slot of key: its value is *slot (-1 when just created). */
static int64_t *keymap_slot(struct keymap *m, uint64_t key)
{
	size_t i;
	if ((m->nr + 1) * 10 > m->size * 7)
		keymap_grow(m);
	i = mix64(key) & (m->size - 1);
	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->size - 1);
	if (!m->slots[i].key) {
		m->slots[i].key = key;
		m->slots[i].val = -1;
		m->nr++;
	}
	return &m->slots[i].val;
}

static int keymap_get(const struct keymap *m, uint64_t key)
{
	size_t i;
	if (!m->size)
		return -1;
	i = mix64(key) & (m->size - 1);
	while (m->slots[i].key) {
		if (m->slots[i].key == key)
			return (int)m->slots[i].val;
		i = (i + 1) & (m->size - 1);
	}
	return -1;
}

/* Start fetching key's slot into the cache. */
static inline void keymap_prefetch(const struct keymap *m, uint64_t key)
{
	if (m->size)
		__builtin_prefetch(&m->slots[mix64(key) & (m->size - 1)]);
}

static void keymap_release(struct keymap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The reading thread (0 or 1) that takes the person with this key. */
static inline int key_owner(uint64_t key)
{
	return (int)(mix64(key) >> 63);
}

/* ---- per-person totals -------------------------------------------------------------- */

struct person {
	char id[19];          /* normalised */
	const char *name;     /* interned, the first row's */
	long line;            /* first line */
	long rows;
	int name_differs;     /* rows of the file disagree on the name */
	int64_t member_id, household_id;
	int match;            /* 0 unknown, 1 matched, 2 unmatched, 3 outside */
	const char *village;  /* interned */
	const char *reg_name; /* interned: the registry's name */
	int sex, hh_type, tuopin, monitored, dibao, tekun;
	int birth_y, birth_m, birth_d;
	double *num;          /* per column: sum, max (2 slots per column) */
	const char **text;    /* per column: latest date / last text */
	long prev_rows;       /* rows of earlier batches (accumulating feeds) */
};

struct load {
	struct db *db;
	const struct feed_load_opts *o;
	struct feed_report *r;
	struct feed_def def;
	int year, today_int;
	long today_day;
	char today_text[11];
	struct intern strings;
	struct person *people;
	int nr_people, alloc_people;
	unsigned char *accs; /* running totals while reading, acc_size bytes a person */
	size_t acc_size, acc_alloc;
	size_t acc_off[FEED_MAX_COLS]; /* each column's slot in a block */
	int plan[FEED_MAX_COLS];       /* the value columns the file has */
	int nr_plan;
	struct arena store;
	struct keymap by_id;
	/* Read in two threads, each thread takes the people of one half of
	 * the keys (own_bit 0 or 1, -1: all) over the whole file; the second
	 * thread's people follow the first's (from off2), found by by_id2. */
	int own_bit;
	struct keymap by_id2;
	int off2;
	struct reg_scan *scan; /* the members, read beside the file */
	int scan_done;
	struct member_ref *scan_refs; /* the matched as the member scan met them */
	char now[20], due[11]; /* the batch's time, its hits' verification date */
	int nr_scan_refs;
	const char *last_village; /* interned: the village of the last member matched */
	double share;        /* of the file this reader's progress covers */
	int col_of_field[FEED_MAX_COLS]; /* column → field index of the file, -1 absent */
	int nr_header_fields;
	struct buf tmp;
};

static void add_issue(struct load *l, int kind, long line, long nr_rows, const char *column,
		      const char *idn, const char *name, int64_t household_id, const char *fmt, ...)
	ATTR_PRINTF(9, 10);

/* Copy `src` into dst[n]; text that does not fit is cut before a whole
 * UTF-8 character, so a long value quoted from the file stays valid text. */
static void copy_cut(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%.*s", utf8_cut(src, (int)n - 1), src);
}

/* How many issues the report keeps (the rest are only counted). */
static int issue_cap(const struct load *l)
{
	return l->o->max_issues > 0 ? l->o->max_issues : 100000;
}

static void add_issue(struct load *l, int kind, long line, long nr_rows, const char *column,
		      const char *idn, const char *name, int64_t household_id, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	struct feed_report *r = l->r;
	int max = issue_cap(l);
	struct feed_issue *is;
	va_list ap;
	r->total_issues++;
	if (r->nr_issues >= max)
		return;
	ALLOC_GROW(r->issues, r->nr_issues + 1, r->alloc_issues);
	is = &r->issues[r->nr_issues++];
	memset(is, 0, sizeof(*is));
	is->kind = kind;
	is->line = line;
	is->nr_rows = nr_rows;
	is->household_id = household_id;
	copy_cut(is->column, sizeof(is->column), column ? column : "");
	if (idn && strlen(idn) == 18)
		idcard_mask(idn, is->id_masked);
	copy_cut(is->name, sizeof(is->name), name ? name : "");
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	copy_cut(is->message, sizeof(is->message), msg.buf);
	buf_release(&msg);
}

/* LIUBAO_FEED_PHASES=1: each phase's wall and CPU time (all threads) on
 * stderr, to see where a large file's time goes (bench/feed.sh). */
static void phase(const char *name)
{
	static double t0, c0, start;
	static int on = -1;
	struct timespec ts;
	double t, cpu;
	if (on < 0)
		on = getenv("LIUBAO_FEED_PHASES") && *getenv("LIUBAO_FEED_PHASES");
	if (!on)
		return;
	t = mono_seconds();
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (name)
		fprintf(stderr, "phase %-14s wall %7.3f s  cpu %7.3f s  (at %.3f s)\n", name, t - t0,
			cpu - c0, t - start);
	else
		start = t;
	t0 = t;
	c0 = cpu;
}

/* LIUBAO_FEED_PHASES=1: the CPU time the calling thread has used, as
 * "thread NAME cpu …" on stderr (once the thread's work is done). */
static void thread_cpu(const char *name)
{
	struct timespec ts;
	if (!getenv("LIUBAO_FEED_PHASES") || !*getenv("LIUBAO_FEED_PHASES"))
		return;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	fprintf(stderr, "thread %-12s cpu %7.3f s\n", name, (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

static void progress(struct load *l, const char *stage, double frac)
{
	if (l->o->progress)
		l->o->progress(l->o->progress_ctx, stage, frac);
}

static int fail(struct load *l, const char *code, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int fail(struct load *l, const char *code, const char *fmt, ...)
{
	va_list ap;
	snprintf(l->r->code, sizeof(l->r->code), "%s", code);
	buf_reset(&l->r->message);
	va_start(ap, fmt);
	buf_vaddf(&l->r->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- header ---------------------------------------------------------------------- */

static void clean_header(const char *in, struct buf *out)
{
	/* drop spaces (also the ideographic one), a leading '*' (required
	 * marks) and a trailing unit in brackets: "个人自付（元）" */
	buf_reset(out);
	for (const char *p = in; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '*')
			continue;
		if (!strncmp(p, "\xe3\x80\x80", 3)) {
			p += 2;
			continue;
		}
		buf_addch(out, *p);
	}
	static const char *const opens[] = { "（", "(" };
	for (size_t i = 0; i < ARRAY_SIZE(opens); i++) {
		char *b = strstr(out->buf, opens[i]);
		if (b && b != out->buf)
			buf_setlen(out, (size_t)(b - out->buf));
	}
}

static int header_names(const struct feed_column *c, const char *h)
{
	size_t hl = strlen(h);
	const char *a = c->aliases;
	if (!strcmp(h, c->title) || !strcmp(h, c->name))
		return 1;
	while (*a) {
		const char *bar = strchr(a, '|');
		size_t n = bar ? (size_t)(bar - a) : strlen(a);
		if (n == hl && !memcmp(a, h, n))
			return 1;
		if (!bar)
			break;
		a = bar + 1;
	}
	return 0;
}

static int find_header(struct load *l, struct csv_reader *cr, struct buf *err)
{
	struct feed_def *d = &l->def;
	for (int tries = 0; tries < 20; tries++) {
		int rc = csv_read_row(cr, err), found = 0;
		if (rc < 0)
			return fail(l, "E_CSV", "%s", err->buf);
		if (rc == 0)
			break;
		for (int c = 0; c < d->nr_cols; c++)
			l->col_of_field[c] = -1;
		for (int f = 0; f < cr->nr_fields; f++) {
			clean_header(cr->fields[f], &l->tmp);
			for (int c = 0; c < d->nr_cols; c++)
				if (l->col_of_field[c] < 0 && header_names(&d->cols[c], l->tmp.buf)) {
					l->col_of_field[c] = f;
					found++;
					break;
				}
		}
		if (l->col_of_field[d->id_col] >= 0 && found >= 2) {
			for (int c = 0; c < d->nr_cols; c++)
				if (d->cols[c].required && l->col_of_field[c] < 0)
					return fail(l, "E_MISSING_COLUMN",
						    "第 %ld 行的表头缺少必需的列“%s”", cr->line,
						    d->cols[c].title);
			l->nr_header_fields = cr->nr_fields;
			return 0;
		}
	}
	return fail(l, "E_NO_HEADER", "找不到表头：前 20 行中没有同时包含“%s”和其他列名的行（%s 的列：%s 等）",
		    d->cols[d->id_col].title, d->title, d->cols[d->nr_cols > 1 ? 1 : 0].title);
}

/* ---- values ---------------------------------------------------------------------- */

/* "1,234.50", " 12 ", "-3" → number; 0 or -1. */
static int parse_num_slow(const char *s, double *out);

/* Amounts as departments write them; a fast path for plain "123" and
 * "123.45" (the common case), strtod for the rest. */
static int parse_num(const char *s, double *out)
{
	static const double scale[] = { 1, 10, 100, 1000, 10000 };
	const char *p = s;
	int64_t ip = 0, fp = 0;
	int k = 0, nd = 0;
	while (*p >= '0' && *p <= '9' && nd < 13)
		ip = ip * 10 + (*p++ - '0'), nd++;
	if (nd && *p == '.') {
		p++;
		while (*p >= '0' && *p <= '9' && k < 4)
			fp = fp * 10 + (*p++ - '0'), k++;
		if (!k)
			return parse_num_slow(s, out);
	}
	if (!nd || *p)
		return parse_num_slow(s, out);
	*out = (double)ip + (double)fp / scale[k];
	return 0;
}

static int parse_num_slow(const char *s, double *out)
{
	char tmp[64];
	size_t n = 0;
	char *end;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s && n + 1 < sizeof(tmp); s++) {
		if (*s == ',')
			continue;
		tmp[n++] = *s;
	}
	while (n && (tmp[n - 1] == ' ' || tmp[n - 1] == '\t'))
		n--;
	tmp[n] = '\0';
	if (!n || *s)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((tmp[i] >= '0' && tmp[i] <= '9') || tmp[i] == '.' || (i == 0 && tmp[i] == '-')))
			return -1;
	*out = strtod(tmp, &end);
	if (*end || !isfinite(*out) || fabs(*out) > 1e12)
		return -1;
	return 0;
}

static int two(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* A real calendar date, year 1900..2199. */
static int date_ok(int y, int m, int d)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日 (a month or day
 * of one digit too) → "YYYY-MM-DD"; 0 or -1.  No sscanf: this runs for
 * every date cell of files of millions of rows. */
static int parse_date(const char *s, char out[11])
{
	int y, m, d, n;
	const char *p;
	while (*s == ' ')
		s++;
	n = (int)strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	if (n == 8 && digits(s, 8)) {
		y = two(s) * 100 + two(s + 2), m = two(s + 4), d = two(s + 6);
	} else {
		if (n < 8 || !digits(s, 4))
			return -1;
		y = two(s) * 100 + two(s + 2);
		p = s + 4;
		if (*p == '-' || *p == '/' || *p == '.')
			p++;
		else if (!strncmp(p, "年", 3))
			p += 3;
		else
			return -1;
		if (!digits(p, 1))
			return -1;
		m = *p++ - '0';
		if (digits(p, 1))
			m = m * 10 + (*p++ - '0');
		if (*p == '-' || *p == '/' || *p == '.')
			p++;
		else if (!strncmp(p, "月", 3))
			p += 3;
		else
			return -1;
		if (!digits(p, 1))
			return -1;
		d = *p++ - '0';
		if (digits(p, 1))
			d = d * 10 + (*p++ - '0');
		if (!strncmp(p, "日", 3))
			p += 3;
		if (p != s + n)
			return -1;
	}
	if (!date_ok(y, m, d))
		return -1;
	out[0] = (char)('0' + y / 1000), out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10), out[3] = (char)('0' + y % 10);
	out[4] = '-', out[5] = (char)('0' + m / 10), out[6] = (char)('0' + m % 10);
	out[7] = '-', out[8] = (char)('0' + d / 10), out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

static int blank(const char *s)
{
	return !s[strspn(s, " \t")];
}

/* ---- reading the rows ----------------------------------------------------------- */

/* While the file is read, each person's running totals sit in one block of
 * l->accs (struct acc_head, then a slot per column at l->acc_off[]), so a
 * row touches its hash slot and that block and nothing else; struct person
 * gets its rows, name, sums and texts from it once the file is read
 * (finish_people).  Dates are kept as YYYYMMDD integers, texts as a pointer
 * into the file's text (or an interned copy) and a length. */
struct acc_head {
	int64_t rows;
	uint32_t name_len;
	uint8_t name_differs;
	uint8_t pad[3];
	union {
		char in[16]; /* names of up to 16 bytes */
		const char *ptr;
	} name;
};
#define ACC_NAME_INLINE 16

struct acc_text {
	const char *p;
	size_t n;
};

static inline struct acc_head *acc_of(const struct load *l, int i)
{
	return (struct acc_head *)(l->accs + (size_t)i * l->acc_size);
}

static inline const char *acc_name(const struct acc_head *a)
{
	return a->name_len <= ACC_NAME_INLINE ? a->name.in : a->name.ptr;
}

static void acc_layout(struct load *l)
{
	struct feed_def *d = &l->def;
	size_t off = sizeof(struct acc_head);
	for (int c = 0; c < d->nr_cols; c++) {
		l->acc_off[c] = off;
		if (d->cols[c].type == FEED_NUM)
			off += 2 * sizeof(double);
		else if (d->cols[c].type == FEED_TEXT)
			off += sizeof(struct acc_text);
		else if (d->cols[c].type == FEED_DATE)
			off += 8;
	}
	l->acc_size = (off + 7) & ~(size_t)7;
}

/* A new person (not yet in by_id under key): its index. */
static int person_new(struct load *l, uint64_t key, const char *n18, const char *name,
		      size_t name_len, long line)
{
	struct feed_def *d = &l->def;
	int i = l->nr_people;
	struct person *p;
	struct acc_head *a;
	ALLOC_GROW(l->people, l->nr_people + 1, l->alloc_people);
	p = &l->people[i];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, n18, 18);
	p->id[18] = '\0';
	p->line = line;
	if ((size_t)(i + 1) * l->acc_size > l->acc_alloc) {
		l->acc_alloc = l->acc_alloc ? l->acc_alloc * 2 : (size_t)4096 * l->acc_size;
		l->accs = xrealloc(l->accs, l->acc_alloc);
	}
	a = acc_of(l, i);
	memset(a, 0, l->acc_size);
	for (int c = 0; c < d->nr_cols; c++)
		if (d->cols[c].type == FEED_NUM) {
			double *v = (double *)((char *)a + l->acc_off[c]);
			v[0] = v[1] = NAN;
		}
	if (name) {
		a->name_len = (uint32_t)name_len;
		if (name_len <= ACC_NAME_INLINE)
			memcpy(a->name.in, name, name_len);
		else
			a->name.ptr = intern_n(&l->strings, name, name_len);
	}
	*keymap_slot(&l->by_id, key) = i;
	l->nr_people++;
	return i;
}

static inline void acc_name_check(struct acc_head *a, const char *name, size_t n)
{
	if (a->name_len != n || memcmp(acc_name(a), name, n))
		a->name_differs = 1;
}

/* Add one row's values (vals NAN, dates 0, texts NULL where absent). */
static inline void acc_add(struct load *l, struct acc_head *a, const double *vals,
			   const int *dates, const struct acc_text *texts)
{
	struct feed_def *d = &l->def;
	a->rows++;
	for (int c = 0; c < d->nr_cols; c++) {
		char *slot = (char *)a + l->acc_off[c];
		switch (d->cols[c].type) {
		case FEED_NUM:
			if (!isnan(vals[c])) {
				double *s = (double *)slot, *mx = s + 1;
				*s = isnan(*s) ? vals[c] : *s + vals[c];
				*mx = isnan(*mx) || vals[c] > *mx ? vals[c] : *mx;
			}
			break;
		case FEED_DATE:
			if (dates[c] > *(int *)slot)
				*(int *)slot = dates[c];
			break;
		case FEED_TEXT:
			if (texts[c].p)
				*(struct acc_text *)slot = texts[c];
			break;
		}
	}
}

static int date_int(const char t[11])
{
	return (two(t) * 100 + two(t + 2)) * 10000 + two(t + 5) * 100 + two(t + 8);
}

/* One row the general way (fields NUL-terminated): any layout of values,
 * every 身份证号 form, and the issues of a bad row. */
static void take_row(struct load *l, const char *const *fields, int nf, long line)
{
	struct feed_def *d = &l->def;
	double vals[FEED_MAX_COLS];
	int dates[FEED_MAX_COLS];
	struct acc_text texts[FEED_MAX_COLS];
	char date[11];
	const char *raw_id, *name = NULL;
	struct idcard id;
	enum idcard_status ist;
	int idx = -1, bad = 0, canonical;
#define FIELD(c) (l->col_of_field[c] >= 0 && l->col_of_field[c] < nf ? fields[l->col_of_field[c]] : "")
	/* blank lines (and rows of nothing but empty cells) are skipped */
	if (nf == 1 && !fields[0][0])
		return;
	{
		int any = 0;
		for (int f = 0; f < nf && !any; f++)
			any = !blank(fields[f]);
		if (!any)
			return;
	}
	raw_id = FIELD(d->id_col);
	if (d->name_col >= 0) {
		name = FIELD(d->name_col);
		while (*name == ' ')
			name++;
	}
	canonical = strlen(raw_id) == 18 && digits(raw_id, 17) &&
		    (digits(raw_id + 17, 1) || raw_id[17] == 'X');
	if (canonical) {
		/* a person seen before needs no new check */
		idx = keymap_get(&l->by_id, id_key(raw_id));
		if (idx >= 0)
			memcpy(id.number, l->people[idx].id, 19);
	}
	ist = idx >= 0 ? IDCARD_OK : idcard_parse(raw_id, l->today_int, &id);
	/* two threads: a row is the one of its 身份证号's (as read_rows
	 * decides for one already in normal form), a row of no person the
	 * first's */
	if (l->own_bit >= 0 &&
	    (canonical ? key_owner(id_key(raw_id))
		       : ist == IDCARD_OK ? key_owner(id_key(id.number)) : 0) != l->own_bit)
		return;
	l->r->rows++;
	if (ist != IDCARD_OK) {
		add_issue(l, FEED_ISSUE_BAD, line, 1, d->cols[d->id_col].title, NULL, name, 0,
			  "“%.*s”：%s", utf8_cut(raw_id, 40), raw_id, idcard_strerror(ist));
		l->r->bad_rows++;
		return;
	}
	for (int c = 0; c < d->nr_cols && !bad; c++) {
		const char *v = FIELD(c);
		const struct feed_column *col = &d->cols[c];
		vals[c] = NAN;
		dates[c] = 0;
		texts[c].p = NULL;
		texts[c].n = 0;
		if (col->type == FEED_ID || col->type == FEED_NAME)
			continue;
		if (blank(v)) {
			if (col->required && l->col_of_field[c] >= 0) {
				add_issue(l, FEED_ISSUE_BAD, line, 1, col->title, id.number, name, 0,
					  "“%s”不能为空", col->title);
				bad = 1;
			}
			continue;
		}
		if (col->type == FEED_NUM && parse_num(v, &vals[c])) {
			add_issue(l, FEED_ISSUE_BAD, line, 1, col->title, id.number, name, 0,
				  "“%s”应为金额或数字，而不是“%.*s”", col->title, utf8_cut(v, 40), v);
			bad = 1;
		} else if (col->type == FEED_DATE) {
			if (parse_date(v, date)) {
				add_issue(l, FEED_ISSUE_BAD, line, 1, col->title, id.number, name, 0,
					  "“%s”应为日期（如 2026-03-05），而不是“%.*s”", col->title,
					  utf8_cut(v, 40), v);
				bad = 1;
			} else {
				dates[c] = date_int(date);
			}
		} else if (col->type == FEED_TEXT) {
			texts[c].p = intern(&l->strings, v);
			texts[c].n = strlen(v);
		}
	}
#undef FIELD
	if (bad) {
		l->r->bad_rows++;
		return;
	}
	if (idx < 0)
		idx = keymap_get(&l->by_id, id_key(id.number));
	if (idx >= 0) {
		if (name)
			acc_name_check(acc_of(l, idx), name, strlen(name));
	} else {
		idx = person_new(l, id_key(id.number), id.number, name, name ? strlen(name) : 0, line);
	}
	acc_add(l, acc_of(l, idx), vals, dates, texts);
}

/* ---- the fast path: a line without quotes, cut in place ---------------------------- */

#define ROW_BATCH 16
#define FAST_FIELDS 48

struct span {
	const char *p;
	size_t n;
};

struct fast_row {
	const char *start; /* the line, without its line end */
	size_t len;
	long line;
	int nf;       /* fields, or -1: read the line with csv_read_row */
	int idx;      /* the person, -1 not known yet */
	uint64_t key; /* the 身份证号 when canonical, else 0 */
	struct span f[FAST_FIELDS];
};

static inline void fast_field(struct fast_row *r, int *nf, const char *s, const char *e)
{
	if (*nf < FAST_FIELDS)
		r->f[*nf] = (struct span){ s, (size_t)(e - s) };
	(*nf)++;
}

/* Cut the line at q (up to its LF or end) at its commas into r; returns
 * where the next line starts.  A quote or a NUL anywhere in the line, or
 * too many fields, sends it to csv_read_row (r->nf = -1). */
static const char *split_fast(const char *q, const char *end, struct fast_row *r)
{
	const char *fs = q, *eol = NULL;
	int nf = 0, special = 0;
	r->start = q;
#ifdef __SSE2__
	{
		const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
		const __m128i quote = _mm_set1_epi8('"'), zero = _mm_setzero_si128();
		while (!eol && q + 16 <= end) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
			unsigned m = (unsigned)_mm_movemask_epi8(
			    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
					 _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, zero))));
			while (m) {
				const char *c = q + __builtin_ctz(m);
				m &= m - 1;
				if (*c == ',') {
					fast_field(r, &nf, fs, c);
					fs = c + 1;
				} else if (*c == '\n') {
					eol = c;
					break;
				} else {
					special = 1;
				}
			}
			q += 16;
		}
	}
#endif
	if (!eol) {
		for (; q < end; q++) {
			if (*q == ',') {
				fast_field(r, &nf, fs, q);
				fs = q + 1;
			} else if (*q == '\n') {
				break;
			} else if (*q == '"' || !*q) {
				special = 1;
			}
		}
		eol = q;
	}
	r->len = (size_t)(eol - r->start);
	if (r->len && eol[-1] == '\r')
		r->len--;
	fast_field(r, &nf, fs, r->start + r->len > fs ? r->start + r->len : fs);
	r->nf = special || nf > FAST_FIELDS ? -1 : nf;
	return eol < end ? eol + 1 : end;
}

/* The key of an 18-character 身份证号 already in its normal form, else 0. */
static inline uint64_t canon_key(const struct span *s)
{
	const char *p = s->p;
	uint64_t k = 0;
	if (s->n != 18)
		return 0;
	for (int i = 0; i < 17; i++) {
		unsigned dg = (unsigned)(p[i] - '0');
		if (dg > 9)
			return 0;
		k = k * 10 + dg;
	}
	if (p[17] == 'X')
		return k * 11 + 11;
	if ((unsigned)(p[17] - '0') > 9)
		return 0;
	return k * 11 + (uint64_t)(p[17] - '0') + 1;
}

/* parse_num's fast form exactly ("123", "123.45"), else -1. */
static inline int fast_num(const struct span *s, double *out)
{
	static const double scale[] = { 1, 10, 100, 1000, 10000 };
	const char *p = s->p, *e = s->p + s->n;
	int64_t ip = 0, fp = 0;
	int k = 0, nd = 0;
	while (p < e && *p >= '0' && *p <= '9' && nd < 13)
		ip = ip * 10 + (*p++ - '0'), nd++;
	if (!nd)
		return -1;
	if (p < e && *p == '.') {
		p++;
		while (p < e && *p >= '0' && *p <= '9' && k < 4)
			fp = fp * 10 + (*p++ - '0'), k++;
		if (!k)
			return -1;
	}
	if (p != e)
		return -1;
	*out = (double)ip + (double)fp / scale[k];
	return 0;
}

/* "YYYY-MM-DD" exactly, a real date, else 0. */
static inline int fast_date(const struct span *s)
{
	const char *p = s->p;
	int y, m, d;
	if (s->n != 10 || p[4] != '-' || p[7] != '-' || !digits(p, 4) || !digits(p + 5, 2) ||
	    !digits(p + 8, 2))
		return 0;
	y = two(p) * 100 + two(p + 2), m = two(p + 5), d = two(p + 8);
	return date_ok(y, m, d) ? y * 10000 + m * 100 + d : 0;
}

/* Initial values of a row's vals/dates/texts for the columns take_fast does
 * not set (absent or blank). */
static void row_defaults(struct load *l, double *vals, int *dates, struct acc_text *texts)
{
	for (int c = 0; c < l->def.nr_cols; c++) {
		vals[c] = NAN;
		dates[c] = 0;
		texts[c].p = NULL;
		texts[c].n = 0;
	}
}

/* Take a row of the common shape (canonical 身份证号, plain amounts, ISO
 * dates, no blank required value): 1, or 0 with nothing changed when the
 * row needs take_row. */
static int take_fast(struct load *l, struct fast_row *r)
{
	struct feed_def *d = &l->def;
	double vals[FEED_MAX_COLS];
	int dates[FEED_MAX_COLS];
	struct acc_text texts[FEED_MAX_COLS];
	struct span name = { "", 0 };
	int idx;
	if (!r->key)
		return 0;
	row_defaults(l, vals, dates, texts);
	if (d->name_col >= 0) {
		int fi = l->col_of_field[d->name_col];
		if (fi >= 0 && fi < r->nf)
			name = r->f[fi];
		while (name.n && *name.p == ' ')
			name.p++, name.n--;
	}
	for (int k = 0; k < l->nr_plan; k++) {
		int c = l->plan[k], fi = l->col_of_field[c];
		const struct span *v = fi < r->nf ? &r->f[fi] : NULL;
		if (!v || !v->n) {
			if (d->cols[c].required)
				return 0;
			continue;
		}
		if (v->p[0] == ' ' || v->p[0] == '\t')
			return 0;
		switch (d->cols[c].type) {
		case FEED_NUM:
			if (fast_num(v, &vals[c]))
				return 0;
			break;
		case FEED_DATE:
			if (!(dates[c] = fast_date(v)))
				return 0;
			break;
		case FEED_TEXT:
			texts[c].p = v->p;
			texts[c].n = v->n;
			break;
		}
	}
	idx = r->idx >= 0 ? r->idx : keymap_get(&l->by_id, r->key);
	if (idx < 0) {
		char raw[19];
		struct idcard id;
		memcpy(raw, r->f[l->col_of_field[d->id_col]].p, 18);
		raw[18] = '\0';
		if (idcard_parse(raw, l->today_int, &id) != IDCARD_OK || memcmp(id.number, raw, 19))
			return 0;
		idx = person_new(l, r->key, id.number, d->name_col >= 0 ? name.p : NULL, name.n,
				 r->line);
	} else if (d->name_col >= 0) {
		acc_name_check(acc_of(l, idx), name.p, name.n);
	}
	l->r->rows++;
	acc_add(l, acc_of(l, idx), vals, dates, texts);
	return 1;
}

/* A fast-cut row that needs the general path: NUL-terminated copies. */
static void take_split_row(struct load *l, const struct fast_row *r)
{
	const char *fields[FAST_FIELDS];
	buf_reset(&l->tmp);
	buf_grow(&l->tmp, r->len + (size_t)r->nf + 1);
	for (int i = 0; i < r->nf; i++) {
		size_t off = l->tmp.len;
		buf_add(&l->tmp, r->f[i].p, r->f[i].n);
		buf_addch(&l->tmp, '\0');
		fields[i] = (const char *)(uintptr_t)off;
	}
	for (int i = 0; i < r->nf; i++)
		fields[i] = l->tmp.buf + (uintptr_t)fields[i];
	take_row(l, fields, r->nf, r->line);
}

/* Read every row of cr from cr->pos, whose first line is `line`; bad rows
 * become issues.  Returns 0 or -1 (fatal). */
static int read_rows(struct load *l, struct csv_reader *cr, long line, struct buf *err)
{
	const char *text = cr->text.buf, *end = text + cr->text.len, *q = text + cr->pos;
	struct fast_row *rows = xmalloc(ROW_BATCH * sizeof(*rows));
	int idf = l->col_of_field[l->def.id_col], rc = 0;
	int skim = l->own_bit >= 0 && idf == 0;
	long n = 0;
	while (q < end) {
		int nr = 0, general = 0;
		/* cut a batch of lines and start fetching their people's slots */
		while (nr < ROW_BATCH && q < end) {
			struct fast_row *r = &rows[nr];
			const char *next;
			if (skim && end - q > 19 && q[18] == ',') {
				/* the line's 身份证号 first, in normal form: another
				 * thread's person is passed over to the line end */
				struct span id = { q, 18 };
				uint64_t key = canon_key(&id);
				if (key && key_owner(key) != l->own_bit) {
					const char *lf = memchr(q + 19, '\n', (size_t)(end - q - 19));
					q = lf ? lf + 1 : end;
					line++;
					continue;
				}
			}
			next = split_fast(q, end, r);
			if (r->nf < 0) {
				general = 1;
				break;
			}
			r->line = line++;
			r->key = idf < r->nf ? canon_key(&r->f[idf]) : 0;
			q = next;
			if (r->key) {
				if (l->own_bit >= 0 && key_owner(r->key) != l->own_bit)
					continue; /* the other thread's */
				keymap_prefetch(&l->by_id, r->key);
			}
			nr++;
		}
		for (int i = 0; i < nr; i++) {
			struct fast_row *r = &rows[i];
			r->idx = r->key ? keymap_get(&l->by_id, r->key) : -1;
			if (r->idx >= 0) {
				const char *a = (const char *)acc_of(l, r->idx);
				__builtin_prefetch(a);
				__builtin_prefetch(a + l->acc_size - 1);
			}
		}
		for (int i = 0; i < nr; i++) {
			if (!take_fast(l, &rows[i]))
				take_split_row(l, &rows[i]);
		}
		if (general) {
			/* a line with a quote (perhaps a row of several lines) */
			cr->pos = (size_t)(q - text);
			cr->next_line = line;
			rc = csv_read_row(cr, err);
			if (rc < 0) {
				rc = fail(l, "E_CSV", "%s", err->buf);
				break;
			}
			rc = 0;
			take_row(l, cr->fields, cr->nr_fields, cr->line);
			q = text + cr->pos;
			line = cr->next_line;
			nr++;
		}
		if ((n & ~0xffffL) != ((n + nr) & ~0xffffL) && l->share > 0)
			progress(l, "解析", (double)(q - text) / (double)(end - text) * l->share);
		n += nr;
	}
	free(rows);
	return rc;
}

/* After the file: each person's totals from its block (sums and maxima,
 * dates as text, texts interned), its rows and its name. */
static void finish_people(struct load *l)
{
	struct feed_def *d = &l->def;
	int nc = d->nr_cols;
	struct {
		int date;
		const char *text;
	} cache[1024];
	memset(cache, 0, sizeof(cache));
	for (int i = 0; i < l->nr_people; i++) {
		struct person *p = &l->people[i];
		struct acc_head *a = acc_of(l, i);
		p->rows = (long)a->rows;
		p->name_differs = a->name_differs;
		p->name = d->name_col >= 0 ? arena_dup(&l->store, acc_name(a), a->name_len) : NULL;
		p->num = arena_alloc(&l->store, 2 * nc * sizeof(double));
		p->text = arena_alloc(&l->store, nc * sizeof(char *));
		for (int c = 0; c < nc; c++) {
			const char *slot = (const char *)a + l->acc_off[c];
			p->num[2 * c] = p->num[2 * c + 1] = NAN;
			p->text[c] = NULL;
			if (d->cols[c].type == FEED_NUM) {
				p->num[2 * c] = ((const double *)slot)[0];
				p->num[2 * c + 1] = ((const double *)slot)[1];
			} else if (d->cols[c].type == FEED_DATE && *(const int *)slot) {
				int v = *(const int *)slot;
				unsigned h = ((unsigned)v * 2654435761u) >> 22;
				if (cache[h].date != v) {
					char t[11];
					int y = v / 10000, m = v / 100 % 100, dd = v % 100;
					t[0] = (char)('0' + y / 1000), t[1] = (char)('0' + y / 100 % 10);
					t[2] = (char)('0' + y / 10 % 10), t[3] = (char)('0' + y % 10);
					t[4] = '-', t[5] = (char)('0' + m / 10), t[6] = (char)('0' + m % 10);
					t[7] = '-', t[8] = (char)('0' + dd / 10), t[9] = (char)('0' + dd % 10);
					t[10] = '\0';
					cache[h].date = v;
					cache[h].text = intern(&l->strings, t);
				}
				p->text[c] = cache[h].text;
			} else if (d->cols[c].type == FEED_TEXT && ((const struct acc_text *)slot)->p) {
				const struct acc_text *t = (const struct acc_text *)slot;
				p->text[c] = intern_n(&l->strings, t->p, t->n);
			}
		}
	}
}

/* ---- reading in two threads ------------------------------------------------------ */

struct part {
	struct load l;             /* a copy of the main load with its own tables */
	struct feed_report r;
	struct feed_load_opts o;
	struct csv_reader cr;      /* over the part's text only */
	long line;                 /* its first line */
	struct buf err;
	int rc;
};

static void *read_part(void *arg)
{
	struct part *pt = arg;
	pt->rc = read_rows(&pt->l, &pt->cr, pt->line, &pt->err);
	if (!pt->rc)
		finish_people(&pt->l); /* into the part's own strings and store */
	thread_cpu("reader 2");
	return NULL;
}

/* A reader over len bytes of text it does not own (csv_release leaves them). */
static void reader_view(struct csv_reader *cr, const char *text, size_t len)
{
	memset(cr, 0, sizeof(*cr));
	buf_init(&cr->row, 0);
	cr->text.buf = (char *)text;
	cr->text.len = len;
	cr->text.alloc = 0;
	cr->next_line = 1;
}

/* After reading in two threads, each thread's people finished (their
 * totals out of the running blocks): the second thread's people (none of
 * them the first's) follow the first's, found through its hash table
 * (by_id2, from off2); the two threads' issues are merged in line order. */
static void append_part(struct load *l, struct part *pt)
{
	struct load *m = &pt->l;
	struct feed_report *r = l->r;
	struct feed_issue *mine = r->issues;
	int na = r->nr_issues, nb = pt->r.nr_issues, ia = 0, ib = 0;
	int max = issue_cap(l);
	l->off2 = l->nr_people;
	ALLOC_GROW(l->people, l->nr_people + m->nr_people + 1, l->alloc_people);
	memcpy(l->people + l->nr_people, m->people, sizeof(*m->people) * (size_t)m->nr_people);
	l->nr_people += m->nr_people;
	l->by_id2 = m->by_id;
	memset(&m->by_id, 0, sizeof(m->by_id));
	/* issues: each thread's are in line order */
	r->issues = NULL;
	r->nr_issues = r->alloc_issues = 0;
	while ((ia < na || ib < nb) && r->nr_issues < max) {
		int take_a = ib >= nb || (ia < na && mine[ia].line <= pt->r.issues[ib].line);
		ALLOC_GROW(r->issues, r->nr_issues + 1, r->alloc_issues);
		r->issues[r->nr_issues++] = take_a ? mine[ia++] : pt->r.issues[ib++];
	}
	free(mine);
	r->rows += pt->r.rows;
	r->bad_rows += pt->r.bad_rows;
	r->total_issues += pt->r.total_issues;
}

/* The person with this key, or -1 (after reading, in either thread's table). */
static int find_person(const struct load *l, uint64_t key)
{
	int i;
	if (!l->by_id2.size || !key_owner(key))
		return keymap_get(&l->by_id, key);
	i = keymap_get(&l->by_id2, key);
	return i < 0 ? -1 : i + l->off2;
}

static void prefetch_person(const struct load *l, uint64_t key)
{
	keymap_prefetch(l->by_id2.size && key_owner(key) ? &l->by_id2 : &l->by_id, key);
}

/* Read every row: in two threads when the rest of the file is large and has
 * no quoted fields (so that a line is always a row), else in this one. */
static int read_all_rows(struct load *l, struct csv_reader *cr, struct buf *err,
			 struct part **second)
{
	size_t rest = cr->text.len - cr->pos;
	const char *text = cr->text.buf;
	struct csv_reader first;
	struct part *pt;
	pthread_t th;
	int rc;
	*second = NULL;
	l->share = 1.0;
	for (int c = 0; c < l->def.nr_cols; c++) {
		int t = l->def.cols[c].type;
		if (l->col_of_field[c] >= 0 && (t == FEED_NUM || t == FEED_DATE || t == FEED_TEXT))
			l->plan[l->nr_plan++] = c;
	}
	acc_layout(l);
	if (rest < (4u << 20) || memchr(text + cr->pos, '"', rest))
		goto one;
	/* both threads read every line; each takes the rows of its half of
	 * the people (so each person's rows stay in file order in one thread) */
	pt = xcalloc(1, sizeof(*pt));
	buf_init(&pt->err, 0);
	reader_view(&pt->cr, text + cr->pos, rest);
	reader_view(&first, text + cr->pos, rest);
	pt->line = cr->next_line;
	pt->l = *l;
	pt->o = *l->o;
	pt->o.progress = NULL;
	pt->l.o = &pt->o;
	feed_report_init(&pt->r);
	pt->l.r = &pt->r;
	pt->l.people = NULL;
	pt->l.nr_people = pt->l.alloc_people = 0;
	pt->l.accs = NULL;
	pt->l.acc_alloc = 0;
	pt->l.share = 0;
	pt->l.own_bit = 1;
	memset(&pt->l.by_id, 0, sizeof(pt->l.by_id));
	memset(&pt->l.strings, 0, sizeof(pt->l.strings));
	memset(&pt->l.store, 0, sizeof(pt->l.store));
	buf_init(&pt->l.tmp, 0);
	l->own_bit = 0;
	*second = pt;
	if (pthread_create(&th, NULL, read_part, pt)) {
		read_part(pt);
		rc = read_rows(l, &first, cr->next_line, err);
		if (!rc)
			finish_people(l);
	} else {
		rc = read_rows(l, &first, cr->next_line, err);
		if (!rc)
			finish_people(l);
		pthread_join(th, NULL);
	}
	l->own_bit = -1;
	csv_release(&first);
	if (!rc && pt->rc) {
		rc = fail(l, pt->l.r->code[0] ? pt->l.r->code : "E_CSV", "%s",
			  pt->l.r->message.len ? pt->l.r->message.buf : pt->err.buf);
	}
	if (!rc)
		append_part(l, pt);
	progress(l, "解析", 1.0);
	return rc;
one:
	rc = read_rows(l, cr, cr->next_line, err);
	if (!rc)
		finish_people(l);
	progress(l, "解析", 1.0);
	return rc;
}

/* Free what a second part kept (its strings stay in use until the end). */
static void part_free(struct part *pt)
{
	if (!pt)
		return;
	csv_release(&pt->cr);
	free(pt->l.people);
	free(pt->l.accs);
	keymap_release(&pt->l.by_id);
	intern_release(&pt->l.strings);
	arena_release(&pt->l.store);
	buf_release(&pt->l.tmp);
	buf_release(&pt->err);
	feed_report_release(&pt->r);
	free(pt);
}

/* ---- matching ---------------------------------------------------------------------- */

enum { MR_ID, MR_HH, MR_IDN, MR_NAME, MR_SEX, MR_BIRTH, MR_DIBAO, MR_TEKUN, MR_VILLAGE,
       MR_HH_TYPE, MR_MONITORED };
#define MEMBER_SELECT                                                                              \
	"SELECT m.id, m.household_id, m.id_number, m.name, m.sex, m.birth_date, m.dibao, "          \
	"m.tekun, h.village_code, h.hh_type, CASE WHEN mo.status = 'monitoring' THEN 1 ELSE 0 "    \
	"END FROM member m JOIN household h ON h.id = m.household_id LEFT JOIN monitored mo ON "   \
	"mo.household_id = m.household_id "

/* ---- the member scan beside the reading ------------------------------------------ */

/* A registry member as the scan read it (the fields take_member copies). */
struct reg_member {
	uint64_t key; /* id_key() of its 身份证号 */
	int64_t member_id, household_id;
	const char *village; /* interned in the scan's table */
	const char *name;
	int sex, dibao, tekun, hh_type, monitored;
	int birth_y, birth_m, birth_d;
};

/* For a large file: every member read in a thread of its own while this
 * one reads the file (the reading touches no database), then matched. */
struct reg_scan {
	struct db *db;
	struct reg_member *m;
	long nr, alloc;
	struct intern strings;
	struct arena store;
	struct buf err;
	int rc;
	pthread_t th;
};

/* A member's birth date (YYYY-MM-DD) into m, else zeros. */
static void reg_birth(const char *b, struct reg_member *m)
{
	if (strlen(b) == 10 && digits(b, 4) && b[4] == '-' && digits(b + 5, 2) && b[7] == '-' &&
	    digits(b + 8, 2)) {
		m->birth_y = two(b) * 100 + two(b + 2);
		m->birth_m = two(b + 5);
		m->birth_d = two(b + 8);
	} else {
		m->birth_y = m->birth_m = m->birth_d = 0;
	}
}

static void reg_from_stmt(struct db_stmt *st, struct intern *strings, struct arena *store,
			  const char **last_village, struct reg_member *m)
{
	const char *village = db_col_text(st, MR_VILLAGE);
	const char *b = db_col_text(st, MR_BIRTH), *name = db_col_text(st, MR_NAME);
	m->member_id = db_col_int(st, MR_ID);
	m->household_id = db_col_int(st, MR_HH);
	/* members come in household order, so mostly village after village */
	if (!*last_village || strcmp(*last_village, village))
		*last_village = intern(strings, village);
	m->village = *last_village;
	m->name = arena_dup(store, name, strlen(name));
	m->sex = (int)db_col_int(st, MR_SEX);
	m->dibao = (int)db_col_int(st, MR_DIBAO);
	m->tekun = (int)db_col_int(st, MR_TEKUN);
	m->hh_type = db_col_is_null(st, MR_HH_TYPE) ? -1 : (int)db_col_int(st, MR_HH_TYPE);
	m->monitored = (int)db_col_int(st, MR_MONITORED);
	reg_birth(b, m);
}

/* The households as the scan needs them: ids ascending. */
struct reg_household {
	int64_t id;
	const char *village; /* interned in the scan's table */
	int hh_type;         /* -1: none */
	int monitored;
};

static struct reg_household *reg_household_of(struct reg_household *hh, long n, long *cur,
					      int64_t id)
{
	long lo = 0, hi = n - 1;
	/* members come household after household: mostly the same or the next */
	if (*cur < n && hh[*cur].id == id)
		return &hh[*cur];
	if (*cur + 1 < n && hh[*cur + 1].id == id)
		return &hh[++*cur];
	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		if (hh[mid].id == id)
			return &hh[*cur = mid];
		if (hh[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* The scan: the households (village, type), the monitored among them,
 * then every member, joined here rather than by a look-up a member in
 * the database. */
static void *reg_scan_run(void *arg)
{
	struct reg_scan *s = arg;
	struct reg_household *hh = NULL;
	long nr_hh = 0, alloc_hh = 0, cur = 0;
	const char *last_village = NULL;
	struct db_stmt *st;
	int rc;
	st = db_prepare(s->db, "SELECT id, village_code, hh_type FROM household ORDER BY id");
	while ((rc = db_step(st)) == DB_ROW) {
		const char *village = db_col_text(st, 1);
		struct reg_household *h;
		ALLOC_GROW(hh, nr_hh + 1, alloc_hh);
		h = &hh[nr_hh++];
		h->id = db_col_int(st, 0);
		if (!last_village || strcmp(last_village, village))
			last_village = intern(&s->strings, village);
		h->village = last_village;
		h->hh_type = db_col_is_null(st, 2) ? -1 : (int)db_col_int(st, 2);
		h->monitored = 0;
	}
	db_done(st);
	if (rc == DB_DONE) {
		st = db_prepare(s->db, "SELECT household_id FROM monitored WHERE status = "
				       "'monitoring' ORDER BY household_id");
		while ((rc = db_step(st)) == DB_ROW) {
			struct reg_household *h = reg_household_of(hh, nr_hh, &cur, db_col_int(st, 0));
			if (h)
				h->monitored = 1;
		}
		db_done(st);
	}
	if (rc == DB_DONE) {
		st = db_prepare(s->db, "SELECT id, household_id, id_number, name, sex, birth_date, "
				       "dibao, tekun FROM member");
		cur = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			const char *idn = db_col_text(st, 2), *name, *b;
			struct reg_household *h;
			struct reg_member *m;
			if (strlen(idn) != 18 || strspn(idn, "0123456789") < 17)
				continue;
			h = reg_household_of(hh, nr_hh, &cur, db_col_int(st, 1));
			if (!h)
				continue; /* not in the join either */
			ALLOC_GROW(s->m, s->nr + 1, s->alloc);
			m = &s->m[s->nr++];
			m->key = id_key(idn);
			m->member_id = db_col_int(st, 0);
			m->household_id = h->id;
			m->village = h->village;
			name = db_col_text(st, 3);
			m->name = arena_dup(&s->store, name, strlen(name));
			m->sex = (int)db_col_int(st, 4);
			b = db_col_text(st, 5);
			m->dibao = (int)db_col_int(st, 6);
			m->tekun = (int)db_col_int(st, 7);
			m->hh_type = h->hh_type;
			m->monitored = h->monitored;
			reg_birth(b, m);
		}
		db_done(st);
	}
	free(hh);
	s->rc = rc == DB_DONE ? 0 : -1;
	if (s->rc)
		buf_addstr(&s->err, db_errmsg(s->db));
	return NULL;
}

static void *reg_scan_thread(void *arg)
{
	reg_scan_run(arg);
	thread_cpu("member scan");
	return NULL;
}

static struct reg_scan *reg_scan_new(struct load *l)
{
	struct reg_scan *s = xcalloc(1, sizeof(*s));
	s->db = l->db;
	buf_init(&s->err, 0);
	return s;
}

/* Start the scan when the file is large beside the registry (it would be
 * matched by a full scan anyway); 1 started, 0 not. */
static int reg_scan_start(struct load *l, size_t rest)
{
	struct reg_scan *s;
	if (rest < (4u << 20))
		return 0;
	s = reg_scan_new(l);
	if (pthread_create(&s->th, NULL, reg_scan_thread, s)) {
		buf_release(&s->err);
		free(s);
		return 0;
	}
	l->scan = s;
	return 1;
}

/* Wait for the scan (the database is this thread's again). */
static void reg_scan_wait(struct load *l)
{
	if (l->scan && !l->scan_done) {
		pthread_join(l->scan->th, NULL);
		l->scan_done = 1;
	}
}

static void reg_scan_free(struct load *l)
{
	struct reg_scan *s = l->scan;
	reg_scan_wait(l);
	if (!s)
		return;
	free(s->m);
	intern_release(&s->strings);
	arena_release(&s->store);
	buf_release(&s->err);
	free(s);
	l->scan = NULL;
}

static void take_reg(struct load *l, struct person *p, const struct reg_member *m)
{
	const char *scope = l->o->scope ? l->o->scope : "";
	p->member_id = m->member_id;
	p->household_id = m->household_id;
	p->village = m->village;
	p->reg_name = p->name && !strcmp(p->name, m->name) ? p->name : m->name;
	p->sex = m->sex;
	p->dibao = m->dibao;
	p->tekun = m->tekun;
	p->hh_type = m->hh_type;
	p->monitored = m->monitored;
	p->tuopin = p->hh_type == 1 || p->monitored;
	p->birth_y = m->birth_y;
	p->birth_m = m->birth_m;
	p->birth_d = m->birth_d;
	p->match = strncmp(m->village, scope, strlen(scope)) ? 3 : 1;
}

static void take_member(struct load *l, struct person *p, struct db_stmt *st)
{
	struct reg_member m;
	reg_from_stmt(st, &l->strings, &l->store, &l->last_village, &m);
	take_reg(l, p, &m);
}

struct member_ref {
	int64_t member_id;
	int person;
};

static int cmp_member_ref(const void *a, const void *b)
{
	const struct member_ref *x = a, *y = b;
	return (x->member_id > y->member_id) - (x->member_id < y->member_id);
}

/* fn(a) here and fn(b) in a thread of its own beside it when there is
 * enough work for two (else both here, one after the other). */
static void run_halves(void *(*fn)(void *), void *a, void *b, int two)
{
	pthread_t th;
	int started = two && !pthread_create(&th, NULL, fn, b);
	fn(a);
	if (started)
		pthread_join(th, NULL);
	else
		fn(b);
}

/* Copying a range of the matched people into member order. */
struct keep_range {
	const struct load *l;
	const struct member_ref *order;
	struct person *kept;
	double *nums;
	const char **texts;
	int from, to;
};

static void *keep_range_run(void *arg)
{
	struct keep_range *kr = arg;
	const struct load *l = kr->l;
	int nc = l->def.nr_cols;
	for (int k = kr->from; k < kr->to; k++) {
		struct person *p = &kr->kept[k];
		if (k + 8 < kr->to) {
			const struct person *ahead = &l->people[kr->order[k + 8].person];
			__builtin_prefetch(ahead);
			__builtin_prefetch((const char *)ahead + 64);
			__builtin_prefetch((const char *)ahead + 128);
			__builtin_prefetch(ahead->num);
		}
		*p = l->people[kr->order[k].person];
		memcpy(kr->nums + (size_t)2 * nc * k, p->num, sizeof(double) * 2 * nc);
		memcpy(kr->texts + (size_t)nc * k, p->text, sizeof(char *) * nc);
		p->num = kr->nums + (size_t)2 * nc * k;
		p->text = kr->texts + (size_t)nc * k;
	}
	return NULL;
}

/* Keep only the matched people, in member order, each one's sums and texts
 * beside it: what follows (earlier batches, rules, totals, hits) then goes
 * through memory in order and the member_id indexes grow page after page. */
static void keep_matched_in_member_order(struct load *l)
{
	int nc = l->def.nr_cols, n = 0, sorted = 1;
	struct member_ref *order = xmalloc(sizeof(*order) * (l->nr_people + 1));
	struct person *kept;
	double *nums;
	const char **texts;
	if (l->scan_refs) {
		/* the scan's order: member order unless the database chose otherwise */
		for (int k = 0; k < l->nr_scan_refs; k++) {
			order[n] = l->scan_refs[k];
			sorted = sorted && (!n || order[n - 1].member_id < order[n].member_id);
			n++;
		}
	} else {
		for (int i = 0; i < l->nr_people; i++)
			if (l->people[i].match == 1)
				order[n++] = (struct member_ref){ l->people[i].member_id, i };
		sorted = 0;
	}
	if (n && !sorted)
		qsort(order, (size_t)n, sizeof(*order), cmp_member_ref);
	kept = xmalloc(sizeof(*kept) * (n + 1));
	nums = arena_alloc(&l->store, sizeof(double) * 2 * nc * (n + 1));
	texts = arena_alloc(&l->store, sizeof(char *) * nc * (n + 1));
	{
		struct keep_range half[2] = {
			{ l, order, kept, nums, texts, 0, n / 2 }, { l, order, kept, nums, texts, n / 2, n }
		};
		run_halves(keep_range_run, &half[0], &half[1], n >= 100000);
	}
	free(order);
	free(l->people);
	l->people = kept;
	l->nr_people = l->alloc_people = n;
	keymap_release(&l->by_id); /* its indexes named the people of the file */
	keymap_release(&l->by_id2);
}

/* The first (kept) person whose member id is `id` or more (nr_people if
 * none): they are in member order. */
static int first_person_from(const struct load *l, int64_t id)
{
	int lo = 0, hi = l->nr_people;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (l->people[mid].member_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The (kept) person who is member `id`, or -1. */
static int person_of_member(const struct load *l, int64_t id)
{
	int i = first_person_from(l, id);
	return i < l->nr_people && l->people[i].member_id == id ? i : -1;
}

/* Matching a range of the scanned members: the people they are (each
 * person is one member at most: 身份证号 are unique in the registry), in
 * scan order into refs. */
struct scan_range {
	struct load *l;
	const struct reg_scan *s;
	long from, to;
	struct member_ref *refs;
	int nr_refs;
};

static void *match_range(void *arg)
{
	struct scan_range *sr = arg;
	struct load *l = sr->l;
	const struct reg_scan *s = sr->s;
	int idx[16];
	/* a batch of members at a time: their hash slots fetched a batch
	 * ahead, then their people's records, then matched */
	for (long k0 = sr->from; k0 < sr->to; k0 += 16) {
		int nb = sr->to - k0 < 16 ? (int)(sr->to - k0) : 16;
		for (int b = 0; b < nb && k0 + 16 + b < sr->to; b++)
			prefetch_person(l, s->m[k0 + 16 + b].key);
		for (int b = 0; b < nb; b++) {
			idx[b] = find_person(l, s->m[k0 + b].key);
			if (idx[b] >= 0) {
				__builtin_prefetch(&l->people[idx[b]]);
				__builtin_prefetch((const char *)&l->people[idx[b]] + 64);
				__builtin_prefetch((const char *)&l->people[idx[b]] + 128);
			}
		}
		for (int b = 0; b < nb; b++) {
			struct person *p;
			if (idx[b] < 0)
				continue;
			p = &l->people[idx[b]];
			take_reg(l, p, &s->m[k0 + b]);
			if (p->match == 1)
				sr->refs[sr->nr_refs++] = (struct member_ref){ p->member_id, idx[b] };
		}
	}
	return NULL;
}

/* The scanned members matched in two threads (halves of the scan), their
 * people in scan order into l->scan_refs. */
static void match_scan(struct load *l, const struct reg_scan *s)
{
	struct scan_range half[2] = { { l, s, 0, s->nr / 2, NULL, 0 },
				      { l, s, s->nr / 2, s->nr, NULL, 0 } };
	for (int h = 0; h < 2; h++)
		half[h].refs = xmalloc(sizeof(struct member_ref) * (size_t)(half[h].to - half[h].from + 1));
	run_halves(match_range, &half[0], &half[1], s->nr >= 100000);
	l->scan_refs = half[0].refs;
	l->scan_refs = xrealloc(l->scan_refs,
				sizeof(struct member_ref) * (size_t)(half[0].nr_refs + half[1].nr_refs + 1));
	memcpy(l->scan_refs + half[0].nr_refs, half[1].refs,
	       sizeof(struct member_ref) * (size_t)half[1].nr_refs);
	l->nr_scan_refs = half[0].nr_refs + half[1].nr_refs;
	free(half[1].refs);
}

static int match_people(struct load *l)
{
	struct db_stmt *st;
	int64_t members = 0;
	if (!l->scan) {
		st = db_prepare(l->db, "SELECT count(*) FROM member");
		if (db_step(st) == DB_ROW)
			members = db_col_int(st, 0);
		db_done(st);
		if ((int64_t)l->nr_people * 20 < members) {
			/* few people: one indexed lookup each */
			for (int i = 0; i < l->nr_people; i++) {
				struct person *p = &l->people[i];
				st = db_prepare(l->db, MEMBER_SELECT "WHERE m.id_number = :idn");
				db_bind_text(st, ":idn", p->id);
				if (db_step(st) == DB_ROW)
					take_member(l, p, st);
				db_done(st);
			}
			goto matched;
		}
		/* many: every member read, as beside a large file, but here */
		l->scan = reg_scan_new(l);
		reg_scan_run(l->scan);
		l->scan_done = 1;
	}
	/* match the people the file names */
	reg_scan_wait(l);
	if (l->scan->rc)
		return fail(l, "E_DB", "读取户籍成员失败：%s", l->scan->err.buf);
	match_scan(l, l->scan);
matched:
	/* in the order of the people's first lines (read in two threads, each
	 * thread's people are in that order: merged) */
	for (int a = 0, b = l->by_id2.size ? l->off2 : l->nr_people, end_a = b, i;
	     a < end_a || b < l->nr_people;) {
		struct person *p;
		if (b >= l->nr_people || (a < end_a && l->people[a].line <= l->people[b].line))
			i = a++;
		else
			i = b++;
		p = &l->people[i];
		if (!p->match)
			p->match = 2;
		switch (p->match) {
		case 1:
			l->r->matched_rows += p->rows;
			l->r->persons++;
			if (p->name && *p->name && p->name != p->reg_name &&
			    strcmp(p->name, p->reg_name)) {
				l->r->mismatch_rows += p->rows;
				add_issue(l, FEED_ISSUE_NAME, p->line, p->rows, NULL, p->id, p->name,
					  p->household_id,
					  "身份证号与户籍成员“%s”一致，但姓名为“%s”（已按身份证号匹配，请核对）",
					  p->reg_name, p->name);
			} else if (p->name_differs) {
				l->r->mismatch_rows += p->rows;
				add_issue(l, FEED_ISSUE_NAME, p->line, p->rows, NULL, p->id, p->name,
					  p->household_id,
					  "同一身份证号（户籍成员“%s”）在文件中写有不同的姓名（已按身份证号匹配，请核对）",
					  p->reg_name);
			}
			break;
		case 2:
			l->r->unmatched_rows += p->rows;
			add_issue(l, FEED_ISSUE_UNMATCHED, p->line, p->rows, NULL, p->id, p->name, 0,
				  "身份证号不在户籍成员中（共 %ld 行）", p->rows);
			break;
		case 3:
			l->r->outside_rows += p->rows;
			add_issue(l, FEED_ISSUE_OUTSIDE, p->line, p->rows, NULL, p->id, p->name, 0,
				  "此人不在您的管辖范围内（共 %ld 行），未使用", p->rows);
			break;
		}
	}
	phase("m:scan+issues");
	keep_matched_in_member_order(l);
	progress(l, "匹配", 1.0);
	return 0;
}

/* An earlier batch's sum (k 0) or maximum (k 1) of column c for p. */
static void earlier_num(struct person *p, int c, int k, double a)
{
	double *v = &p->num[2 * c + k];
	if (!k)
		*v = isnan(*v) ? a : *v + a;
	else if (isnan(*v) || a > *v)
		*v = a;
}

/* An earlier batch's date (the latest is kept) or text (kept if this batch
 * has none) of column c for p. */
static void earlier_text(struct load *l, struct person *p, int c, const char *s)
{
	if (l->def.cols[c].type == FEED_DATE) {
		if (!p->text[c] || strcmp(s, p->text[c]) > 0)
			p->text[c] = intern(&l->strings, s);
	} else if (!p->text[c]) {
		p->text[c] = intern(&l->strings, s);
	}
}

/* A number as format_num wrote it: whole 分 exactly (an integer divided by
 * 100 rounds as strtod would), anything else through strtod. */
static int pack_num(const char *s, double *out)
{
	const char *p = s;
	int64_t c = 0;
	int neg = *p == '-', nd = 0, k = 0;
	char *end;
	p += neg;
	while (*p >= '0' && *p <= '9' && nd < 15)
		c = c * 10 + (*p++ - '0'), nd++;
	if (nd && *p == '.')
		for (p++; *p >= '0' && *p <= '9' && k < 2; k++)
			c = c * 10 + (*p++ - '0');
	if (nd && !*p && (k || p[-1] != '.')) {
		for (; k < 2; k++)
			c *= 10;
		*out = (double)(neg ? -c : c) / 100;
		return 0;
	}
	*out = strtod(s, &end);
	return *s && !*end ? 0 : -1;
}

/* Undo pack_text in place. */
static void pack_unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

enum { PK_SKIP = -1, PK_MEMBER, PK_HOUSEHOLD, PK_ROWS, PK_SUM, PK_MAX, PK_TEXT };

struct pack_key {
	int kind, col;
};

/* Add one pack of an earlier batch (its text copied into l->tmp): the keys
 * of its header name the columns, so a column added or dropped since
 * is skipped or left empty. */
static void add_pack(struct load *l, const char *data)
{
	struct feed_def *d = &l->def;
	struct pack_key key[3 + 2 * FEED_MAX_COLS];
	int nk = 0, idx = -1;
	char *p, *line;
	buf_reset(&l->tmp);
	buf_addstr(&l->tmp, data);
	p = l->tmp.buf;
	if (!p)
		return;
	line = strsep(&p, "\n");
	for (char *f; (f = strsep(&line, "\t")) && nk < (int)ARRAY_SIZE(key); nk++) {
		key[nk].kind = PK_SKIP;
		key[nk].col = -1;
		if (!strcmp(f, "member"))
			key[nk].kind = PK_MEMBER;
		else if (!strcmp(f, "household"))
			key[nk].kind = PK_HOUSEHOLD;
		else if (!strcmp(f, "rows"))
			key[nk].kind = PK_ROWS;
		for (int c = 0; c < d->nr_cols && key[nk].kind == PK_SKIP; c++) {
			const struct feed_column *col = &d->cols[c];
			if (col->type == FEED_NUM && !strcmp(f, col->name))
				key[nk] = (struct pack_key){ PK_SUM, c };
			else if (col->type == FEED_NUM && !strcmp(f, col->max_name))
				key[nk] = (struct pack_key){ PK_MAX, c };
			else if ((col->type == FEED_DATE || col->type == FEED_TEXT) &&
				 !strcmp(f, col->name))
				key[nk] = (struct pack_key){ PK_TEXT, c };
		}
	}
	if (!nk || key[0].kind != PK_MEMBER)
		return;
	while ((line = strsep(&p, "\n")) && *line) {
		int64_t m = strtoll(line, NULL, 10);
		struct person *q;
		/* the pack's people ascend, as the kept people do */
		if (idx < 0)
			idx = first_person_from(l, m);
		while (idx < l->nr_people && l->people[idx].member_id < m)
			idx++;
		if (idx >= l->nr_people)
			break;
		if (l->people[idx].member_id != m)
			continue;
		q = &l->people[idx];
		for (int k = 0; k < nk; k++) {
			char *f = strsep(&line, "\t");
			double v;
			if (!f)
				break;
			if (!*f)
				continue;
			switch (key[k].kind) {
			case PK_ROWS:
				q->prev_rows += strtol(f, NULL, 10);
				break;
			case PK_SUM:
			case PK_MAX:
				if (!pack_num(f, &v))
					earlier_num(q, key[k].col, key[k].kind == PK_MAX, v);
				break;
			case PK_TEXT:
				pack_unescape(f);
				earlier_text(l, q, key[k].col, f);
				break;
			}
		}
	}
}

/* Add the totals of the year's earlier batches (accumulating feeds): their
 * packs, and the rows of feed_total that loads before the packs wrote. */
static int add_earlier_batches(struct load *l)
{
	struct feed_def *d = &l->def;
	struct db_stmt *st;
	int rc;
	if (!d->accumulate || !l->r->persons)
		return 0;
	st = db_prepare(l->db, "SELECT t.data FROM feed_total_pack t JOIN feed_batch b ON b.id = "
			       "t.batch_id WHERE b.feed_id = :f AND b.year = :y ORDER BY t.batch_id, "
			       "t.part");
	db_bind_text(st, ":f", d->id);
	db_bind_int(st, ":y", l->year);
	while ((rc = db_step(st)) == DB_ROW)
		add_pack(l, db_col_text(st, 0));
	db_done(st);
	if (rc != DB_DONE)
		return fail(l, "E_DB", "读取以往批次失败：%s", db_errmsg(l->db));
	st = db_prepare(l->db, "SELECT t.member_id, t.rows, t.vals FROM feed_total t JOIN feed_batch "
			       "b ON b.id = t.batch_id WHERE b.feed_id = :f AND b.year = :y");
	db_bind_text(st, ":f", d->id);
	db_bind_int(st, ":y", l->year);
	while ((rc = db_step(st)) == DB_ROW) {
		int i = person_of_member(l, db_col_int(st, 0));
		json_t *v;
		struct person *p;
		if (i < 0)
			continue;
		p = &l->people[i];
		p->prev_rows += db_col_int(st, 1);
		v = json_loads(db_col_text(st, 2), 0, NULL);
		for (int c = 0; v && c < d->nr_cols; c++) {
			const struct feed_column *col = &d->cols[c];
			json_t *x = json_object_get(v, col->name);
			if (col->type == FEED_NUM) {
				json_t *mx = json_object_get(v, col->max_name);
				if (json_is_number(x))
					earlier_num(p, c, 0, json_number_value(x));
				if (json_is_number(mx))
					earlier_num(p, c, 1, json_number_value(mx));
			} else if ((col->type == FEED_DATE || col->type == FEED_TEXT) &&
				   json_is_string(x)) {
				earlier_text(l, p, c, json_string_value(x));
			}
		}
		json_decref(v);
	}
	db_done(st);
	return rc == DB_DONE ? 0 : fail(l, "E_DB", "读取以往批次失败：%s", db_errmsg(l->db));
}

/* ---- rules ------------------------------------------------------------------------- */

struct eval_ctx {
	struct load *l;
	struct person *p;
	const double *params;
};

static int get_value(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	struct eval_ctx *e = opaque;
	struct feed_def *d = &e->l->def;
	struct person *p = e->p;
	const struct feed_field_src *src = &d->field_of[f - d->fields];
	(void)member;
	memset(out, 0, sizeof(*out));
	switch (src->kind) {
	case FS_AGE:
		out->null = !p->birth_y;
		out->num = p->birth_y ? idcard_age(p->birth_y, p->birth_m, p->birth_d, e->l->today_int)
				      : 0;
		break;
	case FS_SEX:
		out->num = p->sex;
		break;
	case FS_TUOPIN:
		out->num = p->tuopin;
		break;
	case FS_MONITORED:
		out->num = p->monitored;
		break;
	case FS_HH_TYPE:
		out->null = p->hh_type < 0;
		out->num = p->hh_type;
		break;
	case FS_DIBAO:
		out->num = p->dibao == 1;
		break;
	case FS_TEKUN:
		out->num = p->tekun == 1;
		break;
	case FS_ROWS:
		out->num = (double)(p->rows + p->prev_rows);
		break;
	case FS_COL:
		if (d->cols[src->index].type == FEED_NUM) {
			out->num = p->num[2 * src->index];
			out->null = isnan(out->num);
		} else {
			out->text = p->text[src->index];
			out->null = !out->text;
		}
		break;
	case FS_COL_MAX:
		out->num = p->num[2 * src->index + 1];
		out->null = isnan(out->num);
		break;
	case FS_PARAM:
		out->num = e->params[src->index];
		break;
	default:
		return -1;
	}
	return 0;
}

struct hit {
	int person;
	int rule;
	char *explain;
};

struct village_params {
	const char *village;	     /* interned */
	double *values;		     /* per d->params */
	struct rule_param_value *pv; /* $year and each parameter, for rule_eval() */
};

/* One thread's share of the rules: people [from, to) into its own hits. */
struct eval_part {
	struct load *l;
	const struct village_params *vp;
	const int *vp_of_person;
	int from, to, progress;
	struct hit *hits;
	int nr_hits, alloc_hits;
	int failed_rule; /* -1, or the rule that could not be evaluated */
};

static void *eval_run(void *arg)
{
	struct eval_part *ep = arg;
	struct load *l = ep->l;
	struct feed_def *d = &l->def;
	struct rule_result res = RULE_RESULT_INIT;
	struct buf ex = BUF_INIT;
	ep->failed_rule = -1;
	for (int i = ep->from; i < ep->to && ep->failed_rule < 0; i++) {
		struct person *p = &l->people[i];
		const struct village_params *v = &ep->vp[ep->vp_of_person[i]];
		struct eval_ctx e = { l, p, v->values };
		struct rule_ctx ctx = { &e, 0, get_value, v->pv, d->nr_params + 2 };
		if (p->match != 1)
			continue;
		if (ep->progress && ((i - ep->from) & 0xffff) == 0)
			progress(l, "规则", (double)(i - ep->from) / (ep->to - ep->from));
		for (int k = 0; k < d->nr_rules; k++) {
			struct feed_rule *fr = &d->rules[k];
			int t;
			if (!fr->enabled || !fr->compiled)
				continue;
			/* rule_test() decides without recording (or allocating);
			 * a rule that fires is evaluated again for its explanation */
			t = rule_test(fr->compiled, &ctx, -1);
			if (t < 0) {
				ep->failed_rule = k;
				break;
			}
			if (t != RULE_TRUE)
				continue;
			if (rule_eval(fr->compiled, &ctx, -1, &res)) {
				ep->failed_rule = k;
				break;
			}
			if (res.truth != RULE_TRUE)
				continue;
			buf_reset(&ex);
			buf_addf(&ex, "%s：%s（%s）：", d->title, fr->title, p->reg_name);
			rule_explain(fr->compiled, res.values, &ex);
			ALLOC_GROW(ep->hits, ep->nr_hits + 1, ep->alloc_hits);
			ep->hits[ep->nr_hits].person = i;
			ep->hits[ep->nr_hits].rule = k;
			ep->hits[ep->nr_hits++].explain = xstrdup(ex.buf);
		}
	}
	rule_result_release(&res);
	buf_release(&ex);
	thread_cpu("rules");
	return NULL;
}

/* The rules over the matched people, in threads of their own so that this
 * one can write the totals meanwhile (eval_start), then their hits in
 * people order (eval_finish). */
struct eval_job {
	struct village_params *vp;
	int nr_vp;
	int *vp_of_person;
	struct eval_part parts[2];
	pthread_t th[2];
	int nr_parts, started[2];
};

static void eval_start(struct load *l, struct eval_job *j)
{
	struct feed_def *d = &l->def;
	int alloc_vp = 0, last = -1;
	struct keymap vp_of = { 0 }; /* village (interned: its address) → vp index */
	memset(j, 0, sizeof(*j));
	j->vp_of_person = xcalloc(l->nr_people + 1, sizeof(int));
	/* each village's thresholds (from the database, so in this thread) */
	for (int i = 0; i < l->nr_people; i++) {
		struct person *p = &l->people[i];
		if (p->match != 1)
			continue;
		/* people come in member order: village after village */
		if (last < 0 || j->vp[last].village != p->village)
			last = keymap_get(&vp_of, (uint64_t)(uintptr_t)p->village);
		if (last < 0) {
			struct village_params *v;
			ALLOC_GROW(j->vp, j->nr_vp + 1, alloc_vp);
			*keymap_slot(&vp_of, (uint64_t)(uintptr_t)p->village) = last = j->nr_vp;
			v = &j->vp[j->nr_vp++];
			v->village = p->village;
			v->values = xcalloc(d->nr_params + 1, sizeof(double));
			feed_params_for(l->db, d, p->village, l->year, v->values);
			v->pv = xcalloc(d->nr_params + 2, sizeof(*v->pv));
			v->pv[0].name = "year";
			v->pv[0].v.num = l->year;
			v->pv[1].name = "today";
			v->pv[1].v.text = l->today_text;
			for (int k = 0; k < d->nr_params; k++) {
				v->pv[k + 2].name = d->params[k].name;
				v->pv[k + 2].v.num = v->values[k];
			}
		}
		j->vp_of_person[i] = last;
	}
	keymap_release(&vp_of);
	/* two halves for many people, one otherwise; hits kept in people order */
	j->nr_parts = l->nr_people >= 100000 ? 2 : 1;
	j->parts[0] = (struct eval_part){ l, j->vp, j->vp_of_person, 0, l->nr_people, 0, NULL,
					  0, 0, -1 };
	if (j->nr_parts == 2) {
		j->parts[1] = j->parts[0];
		j->parts[0].to = j->parts[1].from = l->nr_people / 2;
	}
	for (int k = 0; k < j->nr_parts; k++)
		j->started[k] = !pthread_create(&j->th[k], NULL, eval_run, &j->parts[k]);
}

static int eval_finish(struct load *l, struct eval_job *j, struct hit **hits, int *nr_hits,
		       int report)
{
	struct feed_def *d = &l->def;
	int rc = 0;
	*hits = NULL;
	*nr_hits = 0;
	for (int k = 0; k < j->nr_parts; k++) {
		if (j->started[k])
			pthread_join(j->th[k], NULL);
		else
			eval_run(&j->parts[k]);
	}
	for (int k = 0; k < j->nr_parts; k++) {
		struct eval_part *ep = &j->parts[k];
		if (ep->failed_rule >= 0 && !rc)
			rc = report ? fail(l, "E_RULE", "规则 %s 无法计算", d->rules[ep->failed_rule].id)
				    : -1;
		if (!*hits) {
			*hits = ep->hits;
			*nr_hits = ep->nr_hits;
			continue;
		}
		if (ep->nr_hits) {
			*hits = xrealloc(*hits, sizeof(**hits) * (size_t)(*nr_hits + ep->nr_hits));
			memcpy(*hits + *nr_hits, ep->hits, sizeof(**hits) * (size_t)ep->nr_hits);
			*nr_hits += ep->nr_hits;
		}
		free(ep->hits);
	}
	progress(l, "规则", 1.0);
	for (int k = 0; k < j->nr_vp; k++) {
		free(j->vp[k].values);
		free(j->vp[k].pv);
	}
	free(j->vp);
	free(j->vp_of_person);
	memset(j, 0, sizeof(*j));
	return rc;
}

/* ---- writing ---------------------------------------------------------------------- */

/* v as JSON: amounts in whole 分 (the usual case) written by hand, the same
 * digits "%.15g" gives them; anything else through snprintf. */
static void format_num(char out[64], double v)
{
	double c = nearbyint(v * 100);
	if (fabs(v) < 1e13 && c / 100 == v) {
		char tmp[24];
		int n = 0, neg = c < 0;
		uint64_t u = (uint64_t)(neg ? -c : c), frac = u % 100;
		u /= 100;
		do
			tmp[n++] = (char)('0' + u % 10);
		while ((u /= 10));
		char *o = out;
		if (neg)
			*o++ = '-';
		while (n)
			*o++ = tmp[--n];
		if (frac) {
			*o++ = '.';
			*o++ = (char)('0' + frac / 10);
			if (frac % 10)
				*o++ = (char)('0' + frac % 10);
		}
		*o = 0;
		return;
	}
	snprintf(out, 64, "%.15g", v);
}

/* ---- per-person totals, packed (feed_total_pack) --------------------------------------- */

#define PACK_PERSONS 4096

static void pack_text(struct buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		const char *e = strpbrk(p, "\\\t\n\r");
		if (!e) {
			buf_addstr(b, p);
			return;
		}
		buf_add(b, p, (size_t)(e - p));
		buf_addch(b, '\\');
		buf_addch(b, *e == '\t' ? 't' : *e == '\n' ? 'n' : *e == '\r' ? 'r' : '\\');
		p = e;
	}
}

static void pack_int(struct buf *b, int64_t v)
{
	char t[24];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do
		t[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (v < 0)
		buf_addch(b, '-');
	while (n)
		buf_addch(b, t[--n]);
}

/* The pack's header line: the keys of its fields. */
static void pack_header(const struct feed_def *d, struct buf *b)
{
	buf_addstr(b, "member\thousehold\trows");
	for (int c = 0; c < d->nr_cols; c++) {
		const struct feed_column *col = &d->cols[c];
		if (col->type == FEED_NUM)
			buf_addf(b, "\t%s\t%s", col->name, col->max_name);
		else if (col->type == FEED_DATE || col->type == FEED_TEXT)
			buf_addf(b, "\t%s", col->name);
	}
	buf_addch(b, '\n');
}

/* One person's line: the batch's own totals. */
static void pack_person(const struct feed_def *d, const struct person *p, const double *num,
			const char *const *text, struct buf *b)
{
	char v[64];
	pack_int(b, p->member_id);
	buf_addch(b, '\t');
	pack_int(b, p->household_id);
	buf_addch(b, '\t');
	pack_int(b, p->rows);
	for (int c = 0; c < d->nr_cols; c++) {
		int t = d->cols[c].type;
		if (t == FEED_NUM) {
			for (int k = 0; k < 2; k++) {
				buf_addch(b, '\t');
				if (!isnan(num[2 * c + k])) {
					format_num(v, num[2 * c + k]);
					buf_addstr(b, v);
				}
			}
		} else if (t == FEED_DATE || t == FEED_TEXT) {
			buf_addch(b, '\t');
			if (text[c])
				pack_text(b, text[c]);
		}
	}
	buf_addch(b, '\n');
}

/* The batch's own per-person totals, PACK_PERSONS people a row. */
static int write_packs(struct load *l, int64_t bid, double **own_num, const char ***own_text)
{
	struct feed_def *d = &l->def;
	struct buf b = BUF_INIT;
	int part = 0, rc = 0;
	for (int i = 0; i < l->nr_people && !rc; part++) {
		int n = 0;
		int64_t first = 0, last = 0;
		struct db_stmt *st;
		buf_reset(&b);
		pack_header(d, &b);
		for (; i < l->nr_people && n < PACK_PERSONS; i++) {
			if (l->people[i].match != 1)
				continue;
			pack_person(d, &l->people[i], own_num[i], own_text[i], &b);
			if (!n++)
				first = l->people[i].member_id;
			last = l->people[i].member_id;
		}
		if (!n)
			break;
		st = db_prepare(l->db, "INSERT INTO feed_total_pack(batch_id, part, first_member, "
				       "last_member, persons, data) VALUES (:b, :p, :f, :l, :n, :d)");
		db_bind_int(st, ":b", bid);
		db_bind_int(st, ":p", part);
		db_bind_int(st, ":f", first);
		db_bind_int(st, ":l", last);
		db_bind_int(st, ":n", n);
		db_bind_text(st, ":d", b.buf);
		rc = db_run(st);
		db_done(st);
	}
	buf_release(&b);
	return rc;
}

/* A hit of an earlier batch of the year (feed_hit), looked up by
 * (member, rule). */
struct hit_prev {
	int64_t member_id;
	char rule[32];
	int64_t id;
	int pending; /* still 待核实 */
};

static int cmp_hit_prev(const void *a, const void *b)
{
	const struct hit_prev *x = a, *y = b;
	if (x->member_id != y->member_id)
		return x->member_id < y->member_id ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

/* The batch, its per-person totals and its issues (the rules may still be
 * running meanwhile). */
static int write_batch(struct load *l, double **own_num, const char ***own_text)
{
	struct feed_def *d = &l->def;
	struct feed_report *r = l->r;
	struct db_stmt *st;
	struct db_copy *cp;
	struct work_calendar cal;
	char *now = l->now, *due = l->due;
	int64_t bid;
	now_utc_text(now);
	monitor_cal_init(&cal);
	if (monitor_cal_load(l->db, &cal))
		monitor_cal_load_builtin(&cal);
	monitor_date_format(monitor_cal_add_workdays(&cal, l->today_day, d->verify_days), due);
	monitor_cal_release(&cal);

	st = db_prepare(l->db, "INSERT INTO feed_batch(feed_id, feed_version, period, year, file_name, "
			       "file_hash, encoding, scope, loaded_at, user_id, login, rows, bad_rows, "
			       "matched_rows, unmatched_rows, mismatch_rows, outside_rows, persons, "
			       "hits, alerts, millis) VALUES (:f, :v, :p, :y, :fn, :h, :enc, :sc, "
			       ":now, :uid, :login, :rows, :bad, :mat, :unm, :mis, :out, :per, 0, 0, "
			       "0)");
	db_bind_text(st, ":f", d->id);
	db_bind_int(st, ":v", d->version);
	db_bind_text(st, ":p", r->period);
	db_bind_int(st, ":y", l->year);
	db_bind_text(st, ":fn", l->o->file_name ? l->o->file_name : "");
	db_bind_text(st, ":h", r->hash);
	db_bind_text(st, ":enc", r->encoding);
	db_bind_text(st, ":sc", l->o->scope ? l->o->scope : "");
	db_bind_text(st, ":now", now);
	db_bind_int_or_null(st, ":uid", l->o->user_id > 0 ? l->o->user_id : -1);
	db_bind_text(st, ":login", l->o->login ? l->o->login : "");
	db_bind_int(st, ":rows", r->rows);
	db_bind_int(st, ":bad", r->bad_rows);
	db_bind_int(st, ":mat", r->matched_rows);
	db_bind_int(st, ":unm", r->unmatched_rows);
	db_bind_int(st, ":mis", r->mismatch_rows);
	db_bind_int(st, ":out", r->outside_rows);
	db_bind_int(st, ":per", r->persons);
	bid = db_run_insert(st);
	db_done(st);
	if (bid <= 0)
		goto dberr;
	r->batch_id = bid;
	progress(l, "写入", 0.0);

	/* the batch's per-person totals, in member order (the people are kept
	 * so), PACK_PERSONS people a row */
	if (write_packs(l, bid, own_num, own_text))
		goto dberr;
	phase("w:totals");
	progress(l, "写入", 0.5);

	/* every issue found (the report itself may be capped) */
	cp = db_copy_begin(l->db, "feed_issue", "batch_id, kind, line, nr_rows, id_number, name, "
						"household_id, message");
	for (int i = 0; i < r->nr_issues; i++) {
		struct feed_issue *is = &r->issues[i];
		db_copy_int(cp, bid);
		db_copy_int(cp, is->kind);
		db_copy_int(cp, is->line);
		db_copy_int(cp, is->nr_rows);
		db_copy_text(cp, is->id_masked);
		db_copy_text(cp, is->name);
		db_copy_int_or_null(cp, is->household_id ? is->household_id : -1);
		db_copy_text(cp, is->message);
		if (db_copy_row(cp))
			break;
	}
	if (db_copy_end(cp, 0))
		goto dberr;
	return 0;
dberr:
	return fail(l, "E_DB", "保存失败：%s", db_errmsg(l->db));
}

/* The hits and their alerts, then the batch's counts. */
static int write_hits(struct load *l, struct hit *hits, int nr_hits)
{
	struct feed_def *d = &l->def;
	struct feed_report *r = l->r;
	struct db_stmt *st;
	struct db_copy *cp;
	const char *now = l->now, *due = l->due;
	int64_t bid = r->batch_id;
	long alerts = 0;
	int rc;

	/* hits: one per (feed, rule, year, person); a later batch updates the
	 * values of one not yet verified.  The year's earlier hits of this feed
	 * are read at once, the alerts raised in one go (one per household,
	 * merged with what is open), then each hit written. */
	if (nr_hits) {
		struct keymap alert_of = { 0 }; /* household → index into alert_ids */
		int64_t *alert_ids = xcalloc((size_t)nr_hits, sizeof(*alert_ids));
		int nr_alert_ids = 0;
		struct hit_prev *prev = NULL;
		struct alert_evidence *ev = xcalloc((size_t)nr_hits, sizeof(*ev));
		char (*sources)[80] = xcalloc((size_t)nr_hits, sizeof(*sources));
		int64_t *hit_ids = xcalloc((size_t)nr_hits, sizeof(*hit_ids));
		long nr_prev = 0, alloc_prev = 0, nr_ev = 0;
		int failed = 0;
		/* earlier hits of the year: member → its hits (rule, id, state) */
		st = db_prepare(l->db, "SELECT member_id, rule_id, id, state FROM feed_hit WHERE "
				       "feed_id = :f AND year = :y ORDER BY member_id, id");
		db_bind_text(st, ":f", d->id);
		db_bind_int(st, ":y", l->year);
		while ((rc = db_step(st)) == DB_ROW) {
			struct hit_prev *hp;
			ALLOC_GROW(prev, nr_prev + 1, alloc_prev);
			hp = &prev[nr_prev++];
			hp->member_id = db_col_int(st, 0);
			snprintf(hp->rule, sizeof(hp->rule), "%s", db_col_text(st, 1));
			hp->id = db_col_int(st, 2);
			hp->pending = !strcmp(db_col_text(st, 3), "待核实");
		}
		db_done(st);
		failed = rc < 0;
		if (nr_prev)
			qsort(prev, (size_t)nr_prev, sizeof(*prev), cmp_hit_prev);
		for (int h = 0; h < nr_hits && !failed; h++) {
			struct person *p = &l->people[hits[h].person];
			struct feed_rule *fr = &d->rules[hits[h].rule];
			struct hit_prev key = { .member_id = p->member_id }, *hp;
			snprintf(key.rule, sizeof(key.rule), "%s", fr->id);
			hp = nr_prev ? bsearch(&key, prev, (size_t)nr_prev, sizeof(*prev), cmp_hit_prev)
				     : NULL;
			if (hp && !hp->pending) {
				hit_ids[h] = -1; /* verified already: the village's answer stands */
				continue;
			}
			hit_ids[h] = hp ? hp->id : 0;
			snprintf(sources[h], sizeof(sources[h]), "%s/%s", d->id, fr->id);
			ev[nr_ev++] = (struct alert_evidence){ p->household_id, ALERT_DEPT, sources[h],
							       fr->version, fr->risk_types,
							       hits[h].explain, l->o->user_id };
		}
		phase("w:earlier hits");
		if (!failed && monitor_alert_add_many(l->db, ev, nr_ev))
			failed = 1;
		phase("w:alerts");
		alerts = nr_ev;
		/* each household's open alert, which now holds the evidence */
		if (!failed && nr_ev) {
			for (long i = 0; i < nr_ev; i++) {
				int64_t *slot = keymap_slot(&alert_of, (uint64_t)ev[i].household_id);
				if (*slot < 0)
					*slot = nr_alert_ids++;
			}
			st = db_prepare(l->db, "SELECT household_id, id FROM alert WHERE status IN "
					       "('open', 'case') ORDER BY household_id, id");
			while ((rc = db_step(st)) == DB_ROW) {
				int i = keymap_get(&alert_of, (uint64_t)db_col_int(st, 0));
				if (i >= 0)
					alert_ids[i] = db_col_int(st, 1); /* ids ascend: the latest */
			}
			db_done(st);
			failed = rc < 0;
		}
		/* hits of earlier batches not yet verified: updated one by one */
		for (int h = 0; h < nr_hits && !failed; h++) {
			struct person *p = &l->people[hits[h].person];
			struct feed_rule *fr = &d->rules[hits[h].rule];
			int64_t alert_id;
			int ai;
			if (hit_ids[h] <= 0)
				continue;
			ai = keymap_get(&alert_of, (uint64_t)p->household_id);
			alert_id = ai >= 0 ? alert_ids[ai] : 0;
			st = db_prepare(l->db, "UPDATE feed_hit SET explain = :e, batch_id = :b, "
					       "rule_version = :v, alert_id = :a WHERE id = :id");
			db_bind_int(st, ":id", hit_ids[h]);
			db_bind_text(st, ":e", hits[h].explain);
			db_bind_int(st, ":b", bid);
			db_bind_int(st, ":v", fr->version);
			db_bind_int_or_null(st, ":a", alert_id > 0 ? alert_id : -1);
			rc = db_run(st);
			db_done(st);
			if (rc)
				failed = 1;
			else
				r->hits++;
		}
		/* the new ones in bulk */
		if (!failed) {
			long added = 0;
			cp = db_copy_begin(l->db, "feed_hit", "feed_id, rule_id, rule_version, batch_id, "
							  "year, member_id, household_id, alert_id, "
							  "explain, state, due_on, created_at");
			for (int h = 0; h < nr_hits; h++) {
				struct person *p = &l->people[hits[h].person];
				struct feed_rule *fr = &d->rules[hits[h].rule];
				int ai;
				if (hit_ids[h] != 0)
					continue;
				ai = keymap_get(&alert_of, (uint64_t)p->household_id);
				db_copy_text(cp, d->id);
				db_copy_text(cp, fr->id);
				db_copy_int(cp, fr->version);
				db_copy_int(cp, bid);
				db_copy_int(cp, l->year);
				db_copy_int(cp, p->member_id);
				db_copy_int(cp, p->household_id);
				db_copy_int_or_null(cp, ai >= 0 && alert_ids[ai] > 0 ? alert_ids[ai] : -1);
				db_copy_text(cp, hits[h].explain);
				db_copy_text(cp, "待核实");
				db_copy_text(cp, due);
				db_copy_text(cp, now);
				if (db_copy_row(cp))
					break;
				added++;
			}
			if (db_copy_end(cp, 0))
				failed = 1;
			else
				r->hits += added;
		}
		phase("w:hits");
		keymap_release(&alert_of);
		free(alert_ids);
		free(prev);
		free(ev);
		free(sources);
		free(hit_ids);
		if (failed)
			goto dberr;
	}
	r->alerts = alerts;
	st = db_prepare(l->db, "UPDATE feed_batch SET hits = :h, alerts = :a, millis = :ms WHERE id = "
			       ":id");
	db_bind_int(st, ":h", r->hits);
	db_bind_int(st, ":a", r->alerts);
	db_bind_int(st, ":ms", (int64_t)((mono_seconds() - r->seconds) * 1000));
	db_bind_int(st, ":id", bid);
	rc = db_run(st);
	db_done(st);
	if (rc)
		goto dberr;
	progress(l, "写入", 1.0);
	return 0;
dberr:
	return fail(l, "E_DB", "保存失败：%s", db_errmsg(l->db));
}

/* ---- the file's hash, beside the reading -------------------------------------------- */

/* A file's identity, so that the same file is not loaded twice: XXH3-128
 * of its bytes, stored as "xxh3:" and 32 hex digits (libxxhash; ~0.1 s
 * for a 758 MB file).  Batches loaded before kept a BLAKE2b-256 (64 hex
 * digits, no prefix): while a feed has one, the file's BLAKE2b is worked
 * out too and compared with them (hash_legacy). */
struct hash_job {
	const unsigned char *data;
	size_t len;
	XXH128_hash_t digest;
	pthread_t th;
	int running;
};

static void *hash_run(void *arg)
{
	struct hash_job *h = arg;
	h->digest = XXH3_128bits(h->data, h->len);
	thread_cpu("hash");
	return NULL;
}

/* Start hashing (in a thread of its own for a large file). */
static void hash_start(struct hash_job *h, const char *data, size_t len)
{
	h->data = (const unsigned char *)data;
	h->len = len;
	h->running = len > (16u << 20) && !pthread_create(&h->th, NULL, hash_run, h);
	if (!h->running)
		hash_run(h);
}

static void hash_hex(const struct hash_job *h, char out[65])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h->digest);
	memcpy(out, "xxh3:", 5);
	sodium_bin2hex(out + 5, 65 - 5, c.digest, sizeof(c.digest));
}

/* The file's BLAKE2b-256 as batches before XXH3 kept it, if the feed has
 * such a batch; else "" (nothing to compare with). */
static int hash_legacy(struct load *l, const struct hash_job *h, char out[65])
{
	struct db_stmt *st = db_prepare(l->db, "SELECT 1 FROM feed_batch WHERE feed_id = :f AND "
					       "substr(file_hash, 1, 5) <> 'xxh3:' LIMIT 1");
	int rc;
	unsigned char d[32];
	db_bind_text(st, ":f", l->def.id);
	rc = db_step(st);
	db_done(st);
	out[0] = '\0';
	if (rc != DB_ROW)
		return rc == DB_DONE ? 0 : -1;
	crypto_generichash(d, sizeof(d), h->data, h->len, NULL, 0);
	sodium_bin2hex(out, 65, d, sizeof(d));
	return 0;
}

static void hash_wait(struct hash_job *h)
{
	if (h->running)
		pthread_join(h->th, NULL);
	h->running = 0;
}

/* ---- the whole load ------------------------------------------------------------------- */


/* SQLite's PRAGMA data_version (it changes when another connection
 * commits), or -1 (PostgreSQL, or not read). */
static int64_t data_version(struct db *db)
{
	struct db_stmt *st;
	int64_t v = -1;
	if (db_is_server(db))
		return -1;
	st = db_prepare(db, "PRAGMA data_version");
	if (db_step(st) == DB_ROW)
		v = db_col_int(st, 0);
	db_done(st);
	return v;
}

static int parse_period(const char *s, char out[8], int *year)
{
	int y, m, n = 0;
	if (!s || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || s[n] || strlen(s) != 7 || y < 2000 ||
	    y > 2199 || m < 1 || m > 12)
		return -1;
	snprintf(out, 8, "%04d-%02d", y, m);
	*year = y;
	return 0;
}

int screen_feed_load(struct db *db, const struct feed_load_opts *o, struct feed_report *r)
{
	struct load l;
	struct csv_reader cr;
	struct buf err = BUF_INIT;
	struct hash_job hj = { 0 };
	struct eval_job ej;
	int eval_running = 0;
	struct hit *hits = NULL;
	struct part *second = NULL;
	int nr_hits = 0, rc = -1, csv_open = 0, in_tx = 0, fk_off = 0;
	int64_t seen_version = -1;
	double **own_num = NULL;
	const char ***own_text = NULL;
	char fid[32];
	int y, m, dd;

	memset(&l, 0, sizeof(l));
	l.db = db;
	l.o = o;
	l.r = r;
	l.own_bit = -1;
	buf_init(&l.tmp, 0);
	r->seconds = mono_seconds();
	phase(NULL);
	l.today_day = monitor_today();
	monitor_civil_from_days(l.today_day, &y, &m, &dd);
	l.today_int = y * 10000 + m * 100 + dd;
	monitor_date_format(l.today_day, l.today_text);

	switch (screen_feed_resolve(db, o->feed ? o->feed : "", fid)) {
	case 1:
		break;
	case 0:
		rc = fail(&l, "E_UNKNOWN_FEED", "没有名为“%s”的部门数据类型（liubao feed list 可列出）",
			  o->feed ? o->feed : "");
		goto out;
	default:
		rc = fail(&l, "E_DB", "读取部门数据类型失败：%s", db_errmsg(db));
		goto out;
	}
	if (feed_def_load(db, fid, &l.def, &err)) {
		rc = fail(&l, "E_FEED_DEF", "%s", err.buf);
		goto out;
	}
	snprintf(r->feed_id, sizeof(r->feed_id), "%s", l.def.id);
	snprintf(r->feed_title, sizeof(r->feed_title), "%s", l.def.title);
	r->feed_version = l.def.version;
	if (!l.def.enabled) {
		rc = fail(&l, "E_FEED_DISABLED", "部门数据类型“%s”已停用", l.def.title);
		goto out;
	}
	if (o->period) {
		if (parse_period(o->period, r->period, &l.year)) {
			rc = fail(&l, "E_BAD_PERIOD", "数据所属期“%s”无效，应为 YYYY-MM（如 2026-03）",
				  o->period);
			goto out;
		}
	} else {
		snprintf(r->period, sizeof(r->period), "%04d-%02d", y, m);
		l.year = y;
	}

	hash_start(&hj, o->data, o->len);

	progress(&l, "读取", 0.0);
	if (o->len >= 4 && !memcmp(o->data, "PK\x03\x04", 4)) {
		/* an Excel workbook: its first visible sheet, as CSV text */
		struct buf text = BUF_INIT;
		if (xlsx_first_sheet_csv(o->data, o->len, &text, &err)) {
			rc = fail(&l, "E_XLSX", "%s", err.buf);
			buf_release(&text);
			goto out;
		}
		rc = csv_open_mem(&cr, text.buf ? text.buf : "", text.len, &err);
		buf_release(&text);
		if (rc) {
			rc = fail(&l, "E_XLSX", "%s", err.buf);
			goto out;
		}
		snprintf(r->encoding, sizeof(r->encoding), "xlsx");
	} else {
		if (csv_open_view(&cr, o->data, o->len, &err)) {
			rc = fail(&l, "E_ENCODING", "%s", err.buf);
			goto out;
		}
		snprintf(r->encoding, sizeof(r->encoding), "%s", csv_encoding_name(cr.encoding));
	}
	csv_open = 1;
	rc = -1; /* what every failure below returns */
	phase("decode");
	if (find_header(&l, &cr, &err))
		goto out;
	reg_scan_start(&l, cr.text.len - cr.pos);
	rc = read_all_rows(&l, &cr, &err, &second);
	reg_scan_wait(&l); /* the database is this thread's again */
	if (rc) {
		rc = -1;
		goto out;
	}
	rc = -1;
	phase("parse");

	/* the same file twice is refused, whatever its name */
	hash_wait(&hj);
	hash_hex(&hj, r->hash);
	{
		char legacy[65];
		struct db_stmt *st;
		if (hash_legacy(&l, &hj, legacy)) {
			rc = fail(&l, "E_DB", "读取已导入批次失败：%s", db_errmsg(db));
			goto out;
		}
		phase("hash");
		st = db_prepare(db, "SELECT id, loaded_at, login FROM feed_batch WHERE feed_id = :f "
				    "AND file_hash IN (:h, :old) ORDER BY id LIMIT 1");
		db_bind_text(st, ":f", l.def.id);
		db_bind_text(st, ":h", r->hash);
		db_bind_text(st, ":old", legacy[0] ? legacy : r->hash);
		if (db_step(st) == DB_ROW) {
			r->duplicate_of = db_col_int(st, 0);
			fail(&l, "E_DUPLICATE_BATCH",
			     "该文件已于 %.10s 由 %s 导入（批次 %lld），不能重复导入",
			     db_col_text(st, 1), db_col_text(st, 2)[0] ? db_col_text(st, 2) : "命令行",
			     (long long)r->duplicate_of);
		}
		db_done(st);
		if (r->duplicate_of) {
			rc = -1;
			goto out;
		}
	}
	if (!r->rows) {
		rc = fail(&l, "E_EMPTY", "文件中表头之后没有数据行");
		goto out;
	}
	if (r->bad_rows && !o->skip_bad) {
		rc = 1; /* nothing written: the report names the rows */
		snprintf(r->code, sizeof(r->code), "E_BAD_ROWS");
		buf_reset(&r->message);
		buf_addf(&r->message, "共 %ld 行中有 %ld 行有误，未导入任何数据；请改正后重新导入，或选择跳过错误行",
			 r->rows, r->bad_rows);
		goto out;
	}
	if (match_people(&l))
		goto out;
	seen_version = data_version(db);
	phase("match");
	/* keep the batch's own totals before earlier batches are added */
	own_num = xcalloc(l.nr_people + 1, sizeof(*own_num));
	own_text = xcalloc(l.nr_people + 1, sizeof(*own_text));
	if (l.def.accumulate) {
		for (int i = 0; i < l.nr_people; i++) {
			if (l.people[i].match != 1)
				continue;
			own_num[i] = xmalloc(2 * l.def.nr_cols * sizeof(double));
			memcpy(own_num[i], l.people[i].num, 2 * l.def.nr_cols * sizeof(double));
			own_text[i] = xmalloc(l.def.nr_cols * sizeof(char *));
			memcpy(own_text[i], l.people[i].text, l.def.nr_cols * sizeof(char *));
		}
		if (add_earlier_batches(&l))
			goto out;
	} else {
		for (int i = 0; i < l.nr_people; i++) {
			own_num[i] = l.people[i].num;
			own_text[i] = (const char **)l.people[i].text;
		}
	}
	phase("earlier");
	/* the rules in threads of their own; meanwhile the batch and its
	 * totals are written (all undone should the rules fail) */
	eval_start(&l, &ej);
	eval_running = 1;
	if (!o->dry_run) {
		/* SQLite: every row written refers to the batch written here, to
		 * an alert read or made here, or to a member or household read
		 * above; when no other connection has committed since that read
		 * (data_version, checked under the write lock), those exist and
		 * the foreign keys need no look-up a row */
		fk_off = seen_version >= 0 && !db_exec(db, "PRAGMA foreign_keys=OFF");
		if (db_begin(db)) {
			rc = fail(&l, "E_DB_BUSY", "数据库繁忙，请稍后重试：%s", db_errmsg(db));
			goto out;
		}
		in_tx = 1;
		if (fk_off && data_version(db) != seen_version) {
			db_rollback(db);
			in_tx = 0;
			db_exec(db, "PRAGMA foreign_keys=ON");
			fk_off = 0;
			if (db_begin(db)) {
				rc = fail(&l, "E_DB_BUSY", "数据库繁忙，请稍后重试：%s", db_errmsg(db));
				goto out;
			}
			in_tx = 1;
		}
		if (write_batch(&l, own_num, own_text))
			goto out;
		phase("w:issues");
	}
	eval_running = 0;
	if (eval_finish(&l, &ej, &hits, &nr_hits, 1))
		goto out;
	phase("rules (rest)");
	if (o->dry_run) {
		r->hits = nr_hits;
		rc = 0;
		goto out;
	}
	if (write_hits(&l, hits, nr_hits))
		goto out;
	phase("write");
	if (db_commit(db)) {
		in_tx = 0;
		rc = fail(&l, "E_DB", "保存失败：%s", db_errmsg(db));
		r->batch_id = 0;
		goto out;
	}
	in_tx = 0;
	phase("commit");
	rc = 0;
out:
	hash_wait(&hj);
	if (eval_running) {
		/* a failed write: the rules' threads read the people freed below */
		struct hit *h2;
		int n2;
		eval_finish(&l, &ej, &h2, &n2, 0);
		for (int h = 0; h < n2; h++)
			free(h2[h].explain);
		free(h2);
	}
	reg_scan_free(&l);
	if (in_tx) {
		db_rollback(db);
		r->batch_id = 0;
		r->hits = r->alerts = 0;
	}
	if (fk_off)
		db_exec(db, "PRAGMA foreign_keys=ON");
	if (own_num && l.def.accumulate)
		for (int i = 0; i < l.nr_people; i++) {
			free(own_num[i]);
			free((void *)own_text[i]);
		}
	free(own_num);
	free(own_text);
	for (int h = 0; h < nr_hits; h++)
		free(hits[h].explain);
	free(hits);
	if (csv_open)
		csv_release(&cr);
	part_free(second);
	free(l.people);
	free(l.accs);
	keymap_release(&l.by_id);
	keymap_release(&l.by_id2);
	free(l.scan_refs);
	intern_release(&l.strings);
	arena_release(&l.store);
	feed_def_release(&l.def);
	buf_release(&l.tmp);
	buf_release(&err);
	r->seconds = mono_seconds() - r->seconds;
	return rc;
}

const char *feed_issue_kind_name(int kind)
{
	return kind > 0 && kind < (int)ARRAY_SIZE(issue_kind_names) ? issue_kind_names[kind] : "";
}
