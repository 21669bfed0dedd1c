/* util.c - small shared helpers: bounded strings, encodings, numbers, files. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

int
err_set(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, ERRMSG_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

int
str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

void
str_trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' ||
			    s[n - 1] == '\r' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

size_t
str_json(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c;
	size_t at = 0;

	out[at++] = '"';
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			out[at++] = '\\';
			out[at++] = (char)*c;
		} else if (*c < 0x20 || *c == 0x7f) {
			memcpy(out + at, "\\u00", 4);
			out[at + 4] = hex[*c >> 4];
			out[at + 5] = hex[*c & 15];
			at += 6;
		} else
			out[at++] = (char)*c;
	}
	out[at++] = '"';
	out[at] = '\0';
	return at;
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
der_header(const unsigned char *p, const unsigned char *end, size_t *len)
{
	size_t n, i, hl;

	if (p >= end || end - p < 2)
		return 0;
	if (p[1] < 0x80) {
		*len = p[1];
		hl = 2;
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 3 || (size_t)(end - p) < 2 + n)
			return 0;
		for (*len = 0, i = 0; i < n; i++)
			*len = *len << 8 | p[2 + i];
		hl = 2 + n;
	}
	return *len <= (size_t)(end - p) - hl ? hl : 0;
}

int
hex_decode(const char *in, unsigned char *out, size_t outlen)
{
	size_t i;

	if (strlen(in) != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_len(size_t len)
{
	return (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
}

void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t
b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t cap)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (inlen % 4 == 1)
		return -1;
	for (i = 0; i < inlen; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero: one encoding per value. */
	if (acc != 0)
		return -1;
	return (ssize_t)o;
}

void
rand_bytes(unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		buf += n;
		len -= (size_t)n;
	}
}

void
rand_id(char *out)
{
	unsigned char b[16];

	rand_bytes(b, sizeof(b));
	hex_encode(b, sizeof(b), out);
}

int
parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || strlen(s) > 20)
		return -1;
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_duration(const char *s, int64_t *seconds)
{
	char num[24];
	size_t n;
	int64_t v, mult = 1;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[n - 1] = '\0'; break;
	case 'm': mult = 60; num[n - 1] = '\0'; break;
	case 'h': mult = 3600; num[n - 1] = '\0'; break;
	case 'd': mult = 86400; num[n - 1] = '\0'; break;
	case 'w': mult = 7 * 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	/* Bounded at 100 years so later arithmetic cannot overflow. */
	if (parse_int64(num, 0, (INT64_C(100) * 366 * 86400) / mult, &v) < 0)
		return -1;
	*seconds = v * mult;
	return 0;
}

int
file_read(const char *path, size_t max, char **out, size_t *outlen, char *err)
{
	int fd;
	struct stat st;
	char *buf = NULL;
	size_t off = 0, cap;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, "%s is not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return err_set(err, "%s is larger than %zu bytes", path, max);
	}
	/* Read to EOF: files under /proc and /sys report a size of 0. */
	cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		ssize_t n;

		if (buf == NULL || off + 1 >= cap) {
			char *nb;

			if (buf != NULL)
				cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				close(fd);
				return err_set(err, "out of memory reading %s",
				    path);
			}
			buf = nb;
		}
		n = read(fd, buf + off, cap - off - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
		if (off > max) {
			free(buf);
			close(fd);
			return err_set(err, "%s is larger than %zu bytes", path,
			    max);
		}
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = off;
	return 0;
}

int
fd_io_full(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates path (flags: O_EXCL) with mode, writes data and syncs it. */
static int
file_create(const char *path, int flags, const void *data, size_t len,
    mode_t mode, char *err)
{
	mode_t old = umask(0);
	int fd = open(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC, mode);

	umask(old);
	if (fd < 0)
		return err_set(err, "cannot create %s: %s", path,
		    strerror(errno));
	if (fd_io_full(fd, (void *)data, len, 1) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		return err_set(err, "cannot write %s: %s", path,
		    strerror(errno));
	}
	if (close(fd) < 0)
		return err_set(err, "cannot close %s: %s", path,
		    strerror(errno));
	return 0;
}

int
file_write_new(const char *path, const void *data, size_t len, mode_t mode,
    char *err)
{
	return file_create(path, O_EXCL, data, len, mode, err);
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char *err)
{
	char tmp[4096];

	if (str_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) < 0)
		return err_set(err, "path too long: %s", path);
	unlink(tmp);
	if (file_create(tmp, O_EXCL, data, len, mode, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(err, "cannot rename %s: %s", tmp,
		    strerror(errno));
	}
	return 0;
}


/* Rewritten in place: a new file renamed over the old one, or the old one
 * truncated to nothing, makes ext4 allocate and write its blocks at once
 * (its guard for files replaced without fsync): 90 us of CPU and 170 of
 * waiting per write here, for a cache. Never through a symbolic link, and
 * never left readable beyond mode. */
int
file_write_cache(const char *path, const void *data, size_t len, mode_t mode,
    char *err)
{
	mode_t old = umask(0);
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	struct stat st;

	umask(old);
	if (fd < 0)
		return err_set(err, "cannot open %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)) {
		close(fd);
		return err_set(err, "cannot write %s: not a plain file of "
				    "ours",
		    path);
	}
	/* From offset 0 (just opened), then cut to the new length. */
	if (fd_io_full(fd, (void *)data, len, 1) < 0 ||
	    ((off_t)len < st.st_size && ftruncate(fd, (off_t)len) < 0)) {
		close(fd);
		return err_set(err, "cannot write %s: %s", path,
		    strerror(errno));
	}
	return close(fd) < 0 ? err_set(err, "cannot close %s: %s", path,
				   strerror(errno))
			     : 0;
}

int
file_check_secret(const char *path, char *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_set(err, "cannot stat %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, "%s is not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return err_set(err,
		    "%s is accessible by group or others (mode %04o); "
		    "it holds a private key and must be 0600",
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int
dir_make(const char *path, mode_t mode, char *err)
{
	mode_t old = umask(0);
	int r = mkdir(path, mode);

	umask(old);
	if (r < 0 && errno != EEXIST)
		return err_set(err, "cannot create directory %s: %s", path,
		    strerror(errno));
	return 0;
}

int64_t
now_unix(void)
{
	return (int64_t)time(NULL);
}

int64_t
mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
time_iso(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_copy(out, size, "?");
}
