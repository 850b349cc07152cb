/* test_table.c — base/table: a write failure is reported with its own cause
 * (the errno of the failed write), not whatever errno holds when the table
 * is closed ("Success" when a later call cleared it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/table.h"
#include "harness.h"

TEST(table_csv_write_failure_names_its_cause)
{
	static const struct table_col cols[] = { { "姓名", 0, TC_GENERAL }, { "地址", 0, TC_GENERAL } };
	struct buf err = BUF_INIT;
	struct table *t;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC), failed = 0;
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	t = table_open(TABLE_CSV, fd, NULL, NULL, cols, 2, NULL, &err);
	CHECK(t != NULL);
	if (!t) {
		close(fd);
		return;
	}
	/* more than the 1 MB buffer, so a row's flush fails before the close */
	for (int i = 0; i < 20000; i++) {
		table_text(t, "张三", 0);
		table_text(t, "陕西省安康市平利县城关镇西城社区一组一号附近的一条很长的地址", 0);
		if (table_row_end(t))
			failed = 1;
	}
	CHECK(failed);
	errno = 0; /* as a database call between the failure and the close may leave it */
	CHECK_INT(table_close(t, &err), -1);
	CHECK(strstr(err.buf, "No space left on device") != NULL);
	CHECK(strstr(err.buf, "Success") == NULL);
	close(fd);
	buf_release(&err);
}

TEST(table_csv_close_failure_names_its_cause)
{
	static const struct table_col cols[] = { { "姓名", 0, TC_GENERAL } };
	struct buf err = BUF_INIT;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct table *t = fd >= 0 ? table_open(TABLE_CSV, fd, NULL, NULL, cols, 1, NULL, &err) : NULL;
	CHECK(t != NULL);
	if (!t) {
		if (fd >= 0)
			close(fd);
		return;
	}
	table_text(t, "李四", 0);
	CHECK_INT(table_row_end(t), 0);
	CHECK_INT(table_close(t, &err), -1);
	CHECK(strstr(err.buf, "No space left on device") != NULL);
	close(fd);
	buf_release(&err);
}
