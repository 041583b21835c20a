/*
 * openssl_gost_verify: how many GOST R 34.10-2012 verifications per second
 * OpenSSL 3 with Debian's gost engine (libengine-gost-openssl) does on one
 * core, for scripts/bench-signatures to put next to the hub's own figures.
 *
 *   cms:  CMS_verify of a detached signature over a document: parse, digest
 *         of the document, signed attributes, signature, chain to the CA —
 *         what the hub's "cold" verification does (OpenSSL caches nothing).
 *   raw:  EVP_PKEY_verify of one signature over a digest with a loaded key —
 *         the bare curve operation.
 *
 * usage: openssl_gost_verify CA.pem SIGNER.pem SIGNER.key SIG.p7s DOC seconds
 * prints: cms <ops/s>\nraw <ops/s>, per second of the process's CPU time
 */
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what) {
	fprintf(stderr, "openssl_gost_verify: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static unsigned char *slurp(const char *path, long *len) {
	FILE *f = fopen(path, "rb");
	if (!f) die(path);
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*len);
	if (fread(b, 1, *len, f) != (size_t)*len) die(path);
	fclose(f);
	return b;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* cpu is the CPU time of the process: rates are per CPU-second, so other
 * work on a shared machine (which slows the wall clock, not the CPU time an
 * operation takes) does not tilt the comparison; the Go side reports the
 * same (cpu-ns/op). On a quiet machine both equal the wall-clock rate. */
static double cpu(void) {
	static int wall = -1;
	if (wall < 0) wall = getenv("HUB_BENCH_WALL") && strcmp(getenv("HUB_BENCH_WALL"), "1") == 0;
	if (wall) return now();
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc != 7) die("usage: CA.pem SIGNER.pem SIGNER.key SIG.p7s DOC seconds");
	double seconds = atof(argv[6]);
	ENGINE_load_builtin_engines();
	ENGINE *e = ENGINE_by_id("gost");
	if (!e || !ENGINE_init(e) || !ENGINE_set_default(e, ENGINE_METHOD_ALL)) die("gost engine");

	X509_STORE *store = X509_STORE_new();
	if (!X509_STORE_load_file(store, argv[1])) die("CA");
	X509_VERIFY_PARAM_set_purpose(X509_STORE_get0_param(store), X509_PURPOSE_ANY);
	long siglen, doclen;
	unsigned char *sig = slurp(argv[4], &siglen);
	unsigned char *doc = slurp(argv[5], &doclen);

	/* cms: the whole detached verification, parse included, per iteration */
	long n = 0;
	double start = now(), c0 = cpu();
	while (now() - start < seconds) {
		for (int i = 0; i < 10; i++) {
			const unsigned char *p = sig;
			CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, siglen);
			BIO *content = BIO_new_mem_buf(doc, doclen);
			if (!cms || CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) != 1) die("CMS_verify");
			BIO_free(content);
			CMS_ContentInfo_free(cms);
			n++;
		}
	}
	printf("cms %.1f\n", n / (cpu() - c0));

	/* raw: one signature over a digest, key loaded once */
	BIO *kb = BIO_new_file(argv[3], "r");
	EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	if (!key) die("key");
	BIO *cb = BIO_new_file(argv[2], "r");
	X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (!cert) die("certificate");
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	size_t dlen = EVP_PKEY_get_size(key) / 2; /* digest as long as a coordinate */
	unsigned char dg[64], s[128];
	for (size_t i = 0; i < dlen; i++) dg[i] = (unsigned char)(i * 7 + 1);
	size_t slen = sizeof s;
	EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(key, e);
	if (!sc || EVP_PKEY_sign_init(sc) != 1 || EVP_PKEY_sign(sc, s, &slen, dg, dlen) != 1) die("sign");
	EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pub, e);
	if (!vc || EVP_PKEY_verify_init(vc) != 1) die("verify init");
	n = 0;
	start = now();
	c0 = cpu();
	while (now() - start < seconds) {
		for (int i = 0; i < 10; i++) {
			if (EVP_PKEY_verify(vc, s, slen, dg, dlen) != 1) die("EVP_PKEY_verify");
			n++;
		}
	}
	printf("raw %.1f\n", n / (cpu() - c0));

	/* digest: Streebog (256 with 256-bit keys, 512 with 512-bit ones) of a
	 * 64 KB buffer, the hash under every CMS verification of a document */
	const EVP_MD *md = EVP_get_digestbyname(dlen == 32 ? "md_gost12_256" : "md_gost12_512");
	if (!md) die("Streebog digest");
	static unsigned char buf[65536], out[64];
	for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 31 + 7);
	unsigned int olen;
	n = 0;
	start = now();
	c0 = cpu();
	while (now() - start < seconds) {
		for (int i = 0; i < 10; i++) {
			if (EVP_Digest(buf, sizeof buf, out, &olen, md, e) != 1) die("EVP_Digest");
			n++;
		}
	}
	printf("digest %.1f\n", n / (cpu() - c0));
	return 0;
}
