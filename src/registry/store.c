/* store.c — reading and writing single household and member rows.  Callers
 * own the transaction; these functions only run statements. */
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "registry/pinyin.h"
#include "registry/registry.h"

static void copy_text(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

static int64_t col_code(struct db_stmt *st, int col)
{
	return db_col_is_null(st, col) ? -1 : db_col_int(st, col);
}

static int64_t lookup_id(struct db *db, const char *sql, const char *key)
{
	struct db_stmt *st = db_prepare(db, sql);
	int64_t id = 0;
	int rc;
	db_bind_text(st, ":k", key);
	rc = db_step(st);
	if (rc == DB_ROW)
		id = db_col_int(st, 0);
	else if (rc < 0)
		id = rc;
	db_done(st);
	return id;
}

int64_t registry_household_save(struct db *db, const struct household_rec *h, int *what)
{
	struct db_stmt *st;
	int64_t id = h->id;
	char now[20];
	int rc, inserting;

	if (what)
		*what = SAVE_UNCHANGED;
	if (!id) {
		id = lookup_id(db, "SELECT id FROM household WHERE hh_no = :k", h->hh_no);
		if (id < 0)
			return id;
	}
	inserting = id <= 0;
	now_utc_text(now);
	if (inserting) {
		st = db_prepare(db,
				"INSERT INTO household(hh_no, village_code, address, phone, hh_type, "
				"relocated, relocation_site, created_at, updated_at) VALUES(:hh_no, "
				":village, :address, :phone, :type, :relocated, :site, :now, :now)");
	} else {
		st = db_prepare(db,
				"UPDATE household SET hh_no = :hh_no, village_code = :village, "
				"address = :address, phone = :phone, hh_type = :type, relocated = "
				":relocated, relocation_site = :site, updated_at = :now WHERE id = :id "
				"AND (hh_no IS DISTINCT FROM :hh_no OR village_code IS DISTINCT FROM :village OR address IS DISTINCT "
				"FROM :address OR phone IS DISTINCT FROM :phone OR hh_type IS DISTINCT FROM :type OR "
				"relocated IS DISTINCT FROM :relocated OR relocation_site IS DISTINCT FROM :site) "
				"RETURNING id");
		db_bind_int(st, ":id", id);
	}
	db_bind_text(st, ":hh_no", h->hh_no);
	db_bind_text(st, ":village", h->village_code);
	db_bind_text(st, ":address", h->address);
	db_bind_text(st, ":phone", h->phone);
	db_bind_int_or_null(st, ":type", h->hh_type);
	db_bind_int(st, ":relocated", h->relocated > 0);
	db_bind_text(st, ":site", h->relocation_site);
	db_bind_text(st, ":now", now);
	if (inserting) {
		id = db_run_insert(st);
		if (id > 0 && what)
			*what = SAVE_INSERTED;
		db_done(st);
		return id;
	}
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (what)
			*what = SAVE_UPDATED;
		rc = db_step(st);
	}
	db_done(st);
	return rc < 0 ? rc : id;
}

int64_t registry_member_save(struct db *db, const struct member_rec *m, int *what)
{
	struct db_stmt *st;
	int64_t id = m->id;
	char now[20], py[64];
	int rc, inserting;

	if (what)
		*what = SAVE_UNCHANGED;
	if (!id) {
		id = lookup_id(db, "SELECT id FROM member WHERE id_number = :k", m->id_number);
		if (id < 0)
			return id;
	}
	inserting = id <= 0;
	now_utc_text(now);
	if (inserting) {
		st = db_prepare(db,
				"INSERT INTO member(household_id, name, id_number, relation, sex, "
				"birth_date, ethnicity, education, school_status, health, disability, "
				"labor_skill, work_status, ins_resident_med, ins_employee_med, "
				"ins_critical, ins_pension, dibao, tekun, phone, name_py, created_at, "
				"updated_at) VALUES(:hh, :name, :idn, :rel, :sex, :birth, :eth, :edu, "
				":school, :health, :dis, :labor, :work, :irm, :iem, :icr, :ipe, :dibao, "
				":tekun, :phone, :py, :now, :now)");
	} else {
		st = db_prepare(db,
				"UPDATE member SET household_id = :hh, name = :name, name_py = :py, "
				"id_number = :idn, "
				"relation = :rel, sex = :sex, birth_date = :birth, ethnicity = :eth, "
				"education = :edu, school_status = :school, health = :health, "
				"disability = :dis, labor_skill = :labor, work_status = :work, "
				"ins_resident_med = :irm, ins_employee_med = :iem, ins_critical = :icr, "
				"ins_pension = :ipe, dibao = :dibao, tekun = :tekun, phone = :phone, "
				"updated_at = :now WHERE id = :id AND (household_id IS DISTINCT FROM :hh OR name "
				"IS DISTINCT FROM :name OR id_number IS DISTINCT FROM :idn OR relation IS DISTINCT FROM :rel OR sex IS DISTINCT "
				"FROM :sex OR birth_date IS DISTINCT FROM :birth OR ethnicity IS DISTINCT FROM :eth OR "
				"education IS DISTINCT FROM :edu OR school_status IS DISTINCT FROM :school OR health IS DISTINCT FROM "
				":health OR disability IS DISTINCT FROM :dis OR labor_skill IS DISTINCT FROM :labor OR "
				"work_status IS DISTINCT FROM :work OR ins_resident_med IS DISTINCT FROM :irm OR "
				"ins_employee_med IS DISTINCT FROM :iem OR ins_critical IS DISTINCT FROM :icr OR ins_pension "
				"IS DISTINCT FROM :ipe OR dibao IS DISTINCT FROM :dibao OR tekun IS DISTINCT FROM :tekun OR phone IS DISTINCT "
				"FROM :phone) RETURNING id");
		db_bind_int(st, ":id", id);
	}
	db_bind_int(st, ":hh", m->household_id);
	db_bind_text(st, ":name", m->name);
	registry_name_initials(m->name, py, sizeof(py));
	db_bind_text(st, ":py", py);
	db_bind_text(st, ":idn", m->id_number);
	db_bind_int(st, ":rel", m->relation);
	db_bind_int(st, ":sex", m->sex);
	db_bind_text(st, ":birth", m->birth_date);
	db_bind_int_or_null(st, ":eth", m->ethnicity);
	db_bind_int_or_null(st, ":edu", m->education);
	db_bind_int_or_null(st, ":school", m->school_status);
	db_bind_int_or_null(st, ":health", m->health);
	db_bind_int_or_null(st, ":dis", m->disability);
	db_bind_int_or_null(st, ":labor", m->labor_skill);
	db_bind_int_or_null(st, ":work", m->work_status);
	db_bind_int_or_null(st, ":irm", m->ins_resident_med);
	db_bind_int_or_null(st, ":iem", m->ins_employee_med);
	db_bind_int_or_null(st, ":icr", m->ins_critical);
	db_bind_int_or_null(st, ":ipe", m->ins_pension);
	db_bind_int_or_null(st, ":dibao", m->dibao);
	db_bind_int_or_null(st, ":tekun", m->tekun);
	db_bind_text(st, ":phone", m->phone);
	db_bind_text(st, ":now", now);
	if (inserting) {
		id = db_run_insert(st);
		if (id > 0 && what)
			*what = SAVE_INSERTED;
		db_done(st);
		return id;
	}
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (what)
			*what = SAVE_UPDATED;
		rc = db_step(st);
	}
	db_done(st);
	return rc < 0 ? rc : id;
}

int64_t registry_household_upsert(struct db *db, const struct household_rec *h)
{
	return registry_household_save(db, h, NULL);
}

int64_t registry_member_upsert(struct db *db, const struct member_rec *m)
{
	return registry_member_save(db, m, NULL);
}

/* Columns of the household SELECT below. */
enum { HC_ID, HC_NO, HC_VILLAGE, HC_ADDRESS, HC_PHONE, HC_TYPE, HC_RELOCATED, HC_SITE };

int registry_household_load(struct db *db, int64_t id, struct household_rec *h)
{
	struct db_stmt *st = db_prepare(db, "SELECT id, hh_no, village_code, address, phone, "
					    "hh_type, relocated, relocation_site FROM household "
					    "WHERE id = :id");
	int rc;
	db_bind_int(st, ":id", id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		household_rec_init(h);
		h->id = db_col_int(st, HC_ID);
		copy_text(h->hh_no, sizeof(h->hh_no), db_col_text(st, HC_NO));
		copy_text(h->village_code, sizeof(h->village_code), db_col_text(st, HC_VILLAGE));
		copy_text(h->address, sizeof(h->address), db_col_text(st, HC_ADDRESS));
		copy_text(h->phone, sizeof(h->phone), db_col_text(st, HC_PHONE));
		h->hh_type = (int)col_code(st, HC_TYPE);
		h->relocated = (int)db_col_int(st, HC_RELOCATED);
		copy_text(h->relocation_site, sizeof(h->relocation_site), db_col_text(st, HC_SITE));
	}
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

#define MEMBER_COLUMNS                                                                             \
	"id, household_id, name, id_number, relation, sex, birth_date, ethnicity, education, "      \
	"school_status, health, disability, labor_skill, work_status, ins_resident_med, "          \
	"ins_employee_med, ins_critical, ins_pension, dibao, tekun, phone"
enum {
	MC_ID, MC_HH, MC_NAME, MC_IDN, MC_REL, MC_SEX, MC_BIRTH, MC_ETH, MC_EDU, MC_SCHOOL,
	MC_HEALTH, MC_DIS, MC_LABOR, MC_WORK, MC_IRM, MC_IEM, MC_ICR, MC_IPE, MC_DIBAO, MC_TEKUN,
	MC_PHONE
};

/* Read the member whose MEMBER_COLUMNS start at column `base` of `st`. */
static void read_member_at(struct db_stmt *st, int base, struct member_rec *m)
{
	member_rec_init(m);
	m->id = db_col_int(st, base + MC_ID);
	m->household_id = db_col_int(st, base + MC_HH);
	copy_text(m->name, sizeof(m->name), db_col_text(st, base + MC_NAME));
	copy_text(m->id_number, sizeof(m->id_number), db_col_text(st, base + MC_IDN));
	m->relation = (int)col_code(st, base + MC_REL);
	m->sex = (int)col_code(st, base + MC_SEX);
	copy_text(m->birth_date, sizeof(m->birth_date), db_col_text(st, base + MC_BIRTH));
	m->ethnicity = (int)col_code(st, base + MC_ETH);
	m->education = (int)col_code(st, base + MC_EDU);
	m->school_status = (int)col_code(st, base + MC_SCHOOL);
	m->health = (int)col_code(st, base + MC_HEALTH);
	m->disability = (int)col_code(st, base + MC_DIS);
	m->labor_skill = (int)col_code(st, base + MC_LABOR);
	m->work_status = (int)col_code(st, base + MC_WORK);
	m->ins_resident_med = (int)col_code(st, base + MC_IRM);
	m->ins_employee_med = (int)col_code(st, base + MC_IEM);
	m->ins_critical = (int)col_code(st, base + MC_ICR);
	m->ins_pension = (int)col_code(st, base + MC_IPE);
	m->dibao = (int)col_code(st, base + MC_DIBAO);
	m->tekun = (int)col_code(st, base + MC_TEKUN);
	copy_text(m->phone, sizeof(m->phone), db_col_text(st, base + MC_PHONE));
}

static void read_member(struct db_stmt *st, struct member_rec *m)
{
	read_member_at(st, 0, m);
}

int registry_member_load(struct db *db, int64_t id, struct member_rec *m)
{
	struct db_stmt *st = db_prepare(db, "SELECT " MEMBER_COLUMNS " FROM member WHERE id = :id");
	int rc;
	db_bind_int(st, ":id", id);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_member(st, m);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int registry_members_of(struct db *db, int64_t hh_id, struct member_rec **arr, int *alloc)
{
	struct db_stmt *st = db_prepare(db, "SELECT " MEMBER_COLUMNS " FROM member WHERE "
					    "household_id = :hh ORDER BY relation, id");
	int n = 0, rc;
	db_bind_int(st, ":hh", hh_id);
	while ((rc = db_step(st)) == DB_ROW) {
		ALLOC_GROW(*arr, n + 1, *alloc);
		read_member(st, &(*arr)[n++]);
	}
	db_done(st);
	return rc < 0 ? -1 : n;
}

void household_detail_release(struct household_detail *d)
{
	free(d->members);
	d->members = NULL;
	d->nr_members = d->alloc_members = 0;
}

/* Columns of the detail query: the household, then MEMBER_COLUMNS of each
 * member (NULL when it has none). */
enum { DC_ID, DC_NO, DC_VILLAGE, DC_ADDRESS, DC_PHONE, DC_TYPE, DC_RELOCATED, DC_SITE,
       DC_MEMBER };

int registry_household_detail(struct db *db, int64_t id, const char *scope,
			      struct household_detail *d)
{
	struct db_stmt *st = db_prepare(
		db, "SELECT h.id, h.hh_no, h.village_code, h.address, h.phone, h.hh_type, "
		    "h.relocated, h.relocation_site, m.id, m.household_id, m.name, "
		    "m.id_number, m.relation, m.sex, m.birth_date, m.ethnicity, m.education, "
		    "m.school_status, m.health, m.disability, m.labor_skill, m.work_status, "
		    "m.ins_resident_med, m.ins_employee_med, m.ins_critical, m.ins_pension, m.dibao, "
		    "m.tekun, m.phone FROM household h LEFT JOIN member m ON m.household_id = "
		    "h.id WHERE h.id = :id AND "
		    "h.village_code >= :lo AND h.village_code < :hi");
	struct household_rec *h = &d->h;
	int rc, found = 0;
	d->nr_members = 0;
	d->village_name[0] = d->township_name[0] = '\0';
	db_bind_int(st, ":id", id);
	db_bind_prefix(st, ":lo", ":hi", scope ? scope : "");
	while ((rc = db_step(st)) == DB_ROW) {
		if (!found) {
			found = 1;
			household_rec_init(h);
			h->id = db_col_int(st, DC_ID);
			copy_text(h->hh_no, sizeof(h->hh_no), db_col_text(st, DC_NO));
			copy_text(h->village_code, sizeof(h->village_code), db_col_text(st, DC_VILLAGE));
			copy_text(h->address, sizeof(h->address), db_col_text(st, DC_ADDRESS));
			copy_text(h->phone, sizeof(h->phone), db_col_text(st, DC_PHONE));
			h->hh_type = (int)col_code(st, DC_TYPE);
			h->relocated = (int)db_col_int(st, DC_RELOCATED);
			copy_text(h->relocation_site, sizeof(h->relocation_site),
				  db_col_text(st, DC_SITE));
		}
		if (db_col_is_null(st, DC_MEMBER + MC_ID))
			continue;
		ALLOC_GROW(d->members, d->nr_members + 1, d->alloc_members);
		read_member_at(st, DC_MEMBER, &d->members[d->nr_members++]);
	}
	db_done(st);
	if (found) {
		char township[13] = "";
		if (strlen(h->village_code) == 12) {
			memcpy(township, h->village_code, 9);
			memcpy(township + 9, "000", 4);
		}
		if (registry_region_name(db, h->village_code, d->village_name) < 0 ||
		    registry_region_name(db, township, d->township_name) < 0)
			rc = -1;
	}
	/* order by relation, id here: a handful of rows, and an ORDER BY would
	 * cost SQLite a temporary b-tree per request */
	for (int i = 1; i < d->nr_members; i++) {
		struct member_rec m = d->members[i];
		int j = i;
		for (; j > 0 && (d->members[j - 1].relation > m.relation ||
				 (d->members[j - 1].relation == m.relation &&
				  d->members[j - 1].id > m.id));
		     j--)
			d->members[j] = d->members[j - 1];
		d->members[j] = m;
	}
	return rc < 0 ? -1 : found;
}

int registry_household_load_scoped(struct db *db, int64_t id, const char *scope,
				   struct household_rec *h)
{
	int rc = registry_household_load(db, id, h);
	if (rc == 1 && scope && !starts_with(h->village_code, scope))
		rc = 0;
	return rc;
}

void registry_copy_household_fields(struct db_copy *c, const char *hh_no,
				    const char *village_code, const char *address,
				    const char *phone, int hh_type, int relocated,
				    const char *relocation_site)
{
	db_copy_text(c, hh_no);
	db_copy_text(c, village_code);
	db_copy_text(c, address);
	db_copy_text(c, phone);
	db_copy_int_or_null(c, hh_type);
	db_copy_int(c, relocated > 0);
	db_copy_text(c, relocation_site);
}

void registry_copy_member_fields(struct db_copy *c, const struct member_rec *m,
				 char py[REGISTRY_PY_SIZE])
{
	db_copy_text(c, m->name);
	db_copy_text(c, m->id_number);
	db_copy_int(c, m->relation);
	db_copy_int(c, m->sex);
	db_copy_text(c, m->birth_date);
	db_copy_int_or_null(c, m->ethnicity);
	db_copy_int_or_null(c, m->education);
	db_copy_int_or_null(c, m->school_status);
	db_copy_int_or_null(c, m->health);
	db_copy_int_or_null(c, m->disability);
	db_copy_int_or_null(c, m->labor_skill);
	db_copy_int_or_null(c, m->work_status);
	db_copy_int_or_null(c, m->ins_resident_med);
	db_copy_int_or_null(c, m->ins_employee_med);
	db_copy_int_or_null(c, m->ins_critical);
	db_copy_int_or_null(c, m->ins_pension);
	db_copy_int_or_null(c, m->dibao);
	db_copy_int_or_null(c, m->tekun);
	db_copy_text(c, m->phone);
	registry_name_initials(m->name, py, REGISTRY_PY_SIZE);
	db_copy_text(c, py);
}
