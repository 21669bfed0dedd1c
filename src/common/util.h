/* util.h - small shared helpers: bounded strings, encodings, numbers, files. */
#ifndef STEWARD_UTIL_H
#define STEWARD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ERRMSG_MAX 256

/* Copies src into dst (size bytes), always NUL-terminated; returns -1 when cut. */
int str_copy(char *dst, size_t size, const char *src);
/* snprintf that returns -1 on truncation or error. */
int str_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets an error message buffer (may be NULL) and returns -1. */
int err_set(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int str_has_suffix(const char *s, const char *suffix);
/* Removes trailing spaces, tabs and line ends in place. */
void str_trim_right(char *s);

/* s as a JSON string, quotes included, into out (at least
 * STR_JSON_MAX(strlen(s)) bytes); the length written, without the NUL.
 * Bytes from 0x80 are copied as they are. */
#define STR_JSON_MAX(len) (3 + 6 * (len))
size_t str_json(char *out, const char *s);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);
/* Decodes exactly outlen bytes from 2*outlen hex chars; -1 on bad input. */
int hex_decode(const char *in, unsigned char *out, size_t outlen);
/* The header of the DER element at p (before end), definite lengths up
 * to 3 bytes: its length, with the content's length in *len, or 0 when
 * malformed or running past end. */
size_t der_header(const unsigned char *p, const unsigned char *end,
    size_t *len);

/* Unpadded base64url. out must hold b64url_len(len)+1 bytes. */
size_t b64url_len(size_t len);
void b64url_encode(const unsigned char *in, size_t len, char *out);
/* Decodes into out (cap bytes); returns decoded length or -1. */
ssize_t b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t cap);

/* Cryptographically random bytes; aborts if the kernel cannot supply them. */
void rand_bytes(unsigned char *buf, size_t len);
/* Random identifier: 32 lowercase hex chars (128 bits). out >= 33 bytes. */
void rand_id(char *out);

/* Parses a base-10 integer in [min, max]; -1 on anything else. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses durations like 90s, 15m, 1h, 30d, 2w (plain number = seconds). */
int parse_duration(const char *s, int64_t *seconds);

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer. */
int file_read(const char *path, size_t max, char **out, size_t *outlen,
    char *err);
/* Creates path exclusively with mode (umask-independent via O_EXCL+fchmod-free
 * creation under umask 0) and writes data; refuses an existing file. */
int file_write_new(const char *path, const void *data, size_t len, mode_t mode,
    char *err);
/* Atomically replaces path (tmp file + rename) with the given mode. */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char *err);
/* Rewrites path in place, without syncing: for a cache whose loss in a
 * crash costs only time (a torn file must read as absent). Refuses a
 * symbolic link; an existing file gets mode. */
int file_write_cache(const char *path, const void *data, size_t len,
    mode_t mode, char *err);
/* Refuses a secret file readable or writable by group or others. */
int file_check_secret(const char *path, char *err);
int dir_make(const char *path, mode_t mode, char *err);

/* Reads or writes exactly len bytes, retrying on EINTR; -1 on EOF/error. */
int fd_io_full(int fd, void *buf, size_t len, int writing);

int64_t now_unix(void);
/* Seconds, and milliseconds, of the monotonic clock. */
int64_t mono_secs(void);
int64_t mono_ms(void);
/* ISO-8601 UTC "2026-01-02T03:04:05Z" into out (>= 21 bytes). */
void time_iso(int64_t t, char *out, size_t size);

#endif
