/* password.c — password strength, argon2id hashing (libsodium) and
 * generated initial passwords. */
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "base/util.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void init_sodium(void)
{
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
}

/* Passwords people choose first, lower-cased, that must never be accepted. */
static const char *const common[] = {
	"password", "passw0rd", "12345678", "123456789", "1234567890", "qwertyuiop", "11111111",
	"88888888", "66666666", "abc12345", "admin123", "admin@123", "root1234", "iloveyou",
	"1qaz2wsx", "qwe123456", "a123456789", "woaini1314", "liubao", NULL,
};

const char *auth_password_weak(const char *password, const char *login)
{
	int lower = 0, upper = 0, digit = 0, other = 0;
	size_t chars = 0;
	char folded[256];
	size_t n = strlen(password);
	for (const unsigned char *p = (const unsigned char *)password; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (*p < 0x20 || *p == 0x7f)
			return "密码不能包含控制字符";
		if (islower(*p))
			lower = 1;
		else if (isupper(*p))
			upper = 1;
		else if (isdigit(*p))
			digit = 1;
		else
			other = 1;
	}
	if (chars < PASSWORD_MIN_LEN)
		return "密码至少需要10个字符";
	if (n > 128)
		return "密码不能超过128个字节";
	if (lower + upper + digit + other < 3)
		return "密码需包含大写字母、小写字母、数字、符号中的至少三类";
	for (size_t i = 0; i < n && i < sizeof(folded) - 1; i++)
		folded[i] = (char)tolower((unsigned char)password[i]);
	folded[n < sizeof(folded) - 1 ? n : sizeof(folded) - 1] = '\0';
	if (login && strlen(login) >= 3) {
		char lg[64];
		size_t ll = strlen(login);
		for (size_t i = 0; i < ll && i < sizeof(lg) - 1; i++)
			lg[i] = (char)tolower((unsigned char)login[i]);
		lg[ll < sizeof(lg) - 1 ? ll : sizeof(lg) - 1] = '\0';
		if (strstr(folded, lg))
			return "密码不能包含登录名";
	}
	for (int i = 0; common[i]; i++)
		if (strstr(folded, common[i]))
			return "密码过于常见，请换一个";
	return NULL;
}

int auth_password_hash(const char *password, char *out, size_t outlen)
{
	pthread_once(&sodium_once, init_sodium);
	if (outlen < crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE) ? -1 : 0;
}

int auth_password_verify(const char *hash, const char *password)
{
	pthread_once(&sodium_once, init_sodium);
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void auth_password_generate(char out[20])
{
	/* no look-alike characters (0/O, 1/l/I) */
	static const char lower[] = "abcdefghijkmnpqrstuvwxyz", upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ",
			  digit[] = "23456789", sym[] = "#%+=@";
	pthread_once(&sodium_once, init_sodium);
	for (;;) {
		for (int i = 0; i < 14; i++) {
			const char *set;
			switch (i % 4) {
			case 0: set = upper; break;
			case 1: set = lower; break;
			case 2: set = digit; break;
			default: set = i == 3 ? sym : lower;
			}
			out[i] = set[randombytes_uniform((uint32_t)strlen(set))];
		}
		out[14] = '\0';
		if (!auth_password_weak(out, NULL))
			return;
	}
}
