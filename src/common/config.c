/* config.c - parser for "key = value" configuration files. */
#include "config.h"

#include <string.h>

#include "util.h"

static int
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '.' || c == '-';
}

static int
parse_line(char *line, int lineno, config_cb cb, void *arg, char *err)
{
	char *p = line, *key, *value, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	key = p;
	while (key_char(*p))
		p++;
	if (p == key)
		return err_set(err, "line %d: expected a setting name", lineno);
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return err_set(err, "line %d: expected '=' after '%.*s'",
		    lineno, (int)(end - key), key);
	*end = '\0';
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	value = p;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return err_set(err,
			    "line %d: control character in value", lineno);
	while (p > value && (p[-1] == ' ' || p[-1] == '\t'))
		*--p = '\0';
	return cb(arg, lineno, key, value, err);
}

int
config_parse(const char *text, size_t len, config_cb cb, void *arg, char *err)
{
	char line[CONFIG_MAX_LINE];
	size_t i = 0;
	int lineno = 0;

	if (len > CONFIG_MAX_BYTES)
		return err_set(err, "configuration larger than %d bytes",
		    CONFIG_MAX_BYTES);
	while (i < len) {
		size_t n = 0;

		lineno++;
		while (i < len && text[i] != '\n') {
			if (text[i] == '\0')
				return err_set(err, "line %d: NUL byte",
				    lineno);
			if (n + 1 >= sizeof(line))
				return err_set(err,
				    "line %d: longer than %d bytes", lineno,
				    CONFIG_MAX_LINE - 1);
			line[n++] = text[i++];
		}
		i++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		if (parse_line(line, lineno, cb, arg, err) < 0)
			return -1;
	}
	return 0;
}
