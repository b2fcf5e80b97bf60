/* idem.c - Idempotency-Key checks and request fingerprints. */
#include "idem.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "banned.h"

/* A sealed answer: SEAL_MAGIC, the nonce, the tag, then the ciphertext. An
 * answer kept as it is is JSON or empty, so it never starts with SEAL_MAGIC. */
#define SEAL_MAGIC "IB1"
#define SEAL_MAGIC_LEN 3
#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_HEAD (SEAL_MAGIC_LEN + SEAL_NONCE + SEAL_TAG)
#define SEAL_KEY_LABEL "innbocks-idempotency-answer-v1:"

/* One member of an object, to be written in the order of its key. */
struct member {
	const char *key;
	size_t len;
	json_t *value;
};

/* jansson's JSON_SORT_KEYS order: by the key's bytes, then its length. */
static int member_order(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Objects with up to this many members are sorted on the stack. */
#define MEMBERS_ON_STACK 16

/* Appends v as json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENCODE_ANY) writes it, which is what fingerprints were made of
 * before (and what those stored with idempotency records still are):
 * the same bytes, without building them in a string of jansson's and
 * copying them into another. */
static void canonical(struct buf *b, json_t *v)
{
	if (!v)
		die("no request body to fingerprint");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		struct member stack[MEMBERS_ON_STACK];
		struct member *m = n <= MEMBERS_ON_STACK ? stack : malloc(n * sizeof(*m));
		if (!m)
			die("out of memory");
		const char *key;
		json_t *value;
		/* Keys hold no NUL: json_loadb() refuses one. */
		json_object_foreach(v, key, value) {
			m[i++] = (struct member){key, strlen(key), value};
		}
		qsort(m, n, sizeof(*m), member_order);
		buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			if (!buf_json_string(b, m[i].key, m[i].len))
				die("a JSON key is not UTF-8");
			buf_putc(b, ':');
			canonical(b, m[i].value);
		}
		buf_putc(b, '}');
		if (m != stack)
			free(m);
		return;
	}
	case JSON_ARRAY: {
		buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_putc(b, ',');
			canonical(b, json_array_get(v, i));
		}
		buf_putc(b, ']');
		return;
	}
	case JSON_STRING:
		if (!buf_json_string(b, json_string_value(v), json_string_length(v)))
			die("a JSON string is not UTF-8");
		return;
	case JSON_INTEGER: {
		char digits[24];
		int n = snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		buf_put(b, digits, (size_t)n);
		return;
	}
	case JSON_TRUE:
		buf_lit(b, "true");
		return;
	case JSON_FALSE:
		buf_lit(b, "false");
		return;
	case JSON_NULL:
		buf_lit(b, "null");
		return;
	default: /* a real: jansson's own formatting */
		buf_json_value(b, v);
		return;
	}
}

void idem_fingerprint(const char *method, const char *path, json_t *body, char out[65])
{
	struct buf b = {0};
	buf_put(&b, method, strlen(method));
	buf_putc(&b, '\n');
	buf_put(&b, path, strlen(path));
	buf_putc(&b, '\n');
	canonical(&b, body);
	sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

int idem_key_check(const char *key, struct err *e)
{
	size_t n = strlen(key);
	if (n == 0 || n > IDEM_KEY_MAX)
		return error(e, 400, "invalid_idempotency_key", NULL,
			     "Idempotency-Key must be 1 to %d characters", IDEM_KEY_MAX);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return error(e, 400, "invalid_idempotency_key", NULL,
				     "Idempotency-Key must be printable ASCII");
	return 0;
}

void idem_key_digest(const char *key, char out[65])
{
	struct buf b = {0};
	buf_lit(&b, IDEM_KEY_DIGEST_LABEL);
	buf_put(&b, key, strlen(key));
	sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

/* The cipher, fetched once (OpenSSL 3 looks it up on every implicit use). */
static EVP_CIPHER *aes_gcm;
static void aes_gcm_fetch(void)
{
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!aes_gcm)
		die("AES-256-GCM is not available");
}

/* The answer's key: SHA-256 of the label, the scope, a newline and the raw
 * Idempotency-Key (printable ASCII, so no newline: the parts cannot run
 * into each other). */
static void seal_key(const char *scope, const char *key, unsigned char out[32])
{
	struct buf b = {0};
	buf_lit(&b, SEAL_KEY_LABEL);
	buf_put(&b, scope, strlen(scope));
	buf_putc(&b, '\n');
	buf_put(&b, key, strlen(key));
	sha256(b.data, b.len, out);
	OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
}

/* Encrypts (seal) or decrypts len bytes of in into out with AES-256-GCM;
 * the tag is written when sealing and checked when opening. Returns false
 * when the tag does not match. */
static bool gcm(bool seal, const char *scope, const char *key, const unsigned char *nonce,
		const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, aes_gcm_fetch);
	unsigned char k[32];
	seal_key(scope, key, k);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		die("out of memory");
	int n = 0, tail = 0;
	bool ok = EVP_CipherInit_ex2(ctx, aes_gcm, k, nonce, seal ? 1 : 0, NULL) == 1 &&
		  (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
		  (seal ||
		   EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1) &&
		  EVP_CipherFinal_ex(ctx, out + n, &tail) == 1 &&
		  (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(k, sizeof(k));
	return ok;
}

char *idem_seal(struct arena *a, const char *scope, const char *key, const char *body,
		size_t len, size_t *out_len)
{
	unsigned char *out = arena_alloc(a, SEAL_HEAD + len + 1);
	memcpy(out, SEAL_MAGIC, SEAL_MAGIC_LEN);
	unsigned char *nonce = out + SEAL_MAGIC_LEN, *tag = nonce + SEAL_NONCE;
	/* Random: a key used again after its record expired seals another
	 * answer under the same AES key. */
	random_bytes(nonce, SEAL_NONCE);
	if (!gcm(true, scope, key, nonce, (const unsigned char *)body, len, out + SEAL_HEAD,
		 tag))
		die("AES-256-GCM failed");
	*out_len = SEAL_HEAD + len;
	return (char *)out;
}

int idem_open(struct arena *a, const char *scope, const char *key, const char *stored,
	      size_t len, const char **body, size_t *body_len, struct err *e)
{
	if (len < SEAL_MAGIC_LEN || memcmp(stored, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0) {
		*body = stored;
		*body_len = len;
		return 0;
	}
	if (len < SEAL_HEAD)
		return error(e, 500, "internal_error", NULL,
			     "the stored answer of this Idempotency-Key is damaged");
	const unsigned char *in = (const unsigned char *)stored;
	unsigned char tag[SEAL_TAG];
	memcpy(tag, in + SEAL_MAGIC_LEN + SEAL_NONCE, SEAL_TAG);
	size_t n = len - SEAL_HEAD;
	unsigned char *out = arena_alloc(a, n + 1);
	if (!gcm(false, scope, key, in + SEAL_MAGIC_LEN, in + SEAL_HEAD, n, out, tag))
		return error(e, 500, "internal_error", NULL,
			     "the stored answer of this Idempotency-Key is damaged");
	*body = (const char *)out;
	*body_len = n;
	return 0;
}

int idem_in_use(struct err *e)
{
	error(e, 409, "idempotency_key_in_use", NULL,
	      "a request with this Idempotency-Key is still being processed; retry it shortly");
	e->retry_after = 1; /* the first is answered within a batch or two */
	return -1;
}
