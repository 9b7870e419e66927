/*
 * anchors: owns the `anchors` command (its options, its output and exit
 * status) and the listing of a profile's anchors — the Front End issuer
 * and how it was learned, each anchor with subject, fingerprints and
 * expiry — in text and JSON, which check-cert prints too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "anchors.h"
#include "explain.h"
#include "json.h"
#include "log.h"
#include "resultjson.h"
#include "xmalloc.h"

/* Exit status of anchors (documented in ewsprobed(8)). */
#define ANCHORS_OK 0
#define ANCHORS_FE_UNKNOWN 1 /* a Front End issuer could not be learned */

/* The SHA-1 thumbprint as Windows shows it: upper-case hex, no colons. */
static void
anchors_thumbprint(X509 *cert, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (X509_digest(cert, EVP_sha1(), md, &len) != 1)
		return;
	for (i = 0; i < len && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
}

/* Where the profile's Front End issuer comes from, in words. */
static void
anchors_print_frontend(const struct admin_profile *ap, int indent)
{
	const struct config_profile *p = ap->p;

	if (ap->fe != NULL && ap->fe->ok)
		admin_say(indent,
		    "Front End issuer: '%s', learned now from the Lync pool %s port %d",
		    ap->fe->issuer, p->frontend_host, p->frontend_port);
	else if (ap->fe != NULL)
		admin_say(indent, "Front End issuer: unknown (%s)%s",
		    ap->fe->error,
		    p->frontend_ca_file != NULL ? "; frontend_ca is used" : "");
	else if (p->frontend_ca_file != NULL)
		admin_say(indent, "Front End issuer: from frontend_ca %s",
		    p->frontend_ca_file);
	else
		admin_say(indent,
		    "Front End issuer: none (the profile names no Lync pool and no frontend_ca)");
}

/*
 * A profile's anchors as text: the Front End issuer's origin, then each
 * anchor, grouped by source in the order phones get them.
 */
void
anchors_print_profile(const struct admin_profile *ap, int indent)
{
	static const enum trustset_source order[] = {TRUSTSET_FRONTEND,
	    TRUSTSET_WEB_TRUSTED, TRUSTSET_PUBLIC_ROOT};
	struct certinfo ci;
	enum trustset_source src;
	X509 *cert;
	char thumb[41], until[32];
	size_t i, k, n;

	anchors_print_frontend(ap, indent);
	for (k = 0; k < sizeof order / sizeof *order; k++) {
		n = 0;
		for (i = 0;
		     trustset_anchor(ap->phone, i, &src, &ci, &cert) == 0;
		     i++) {
			if (src == order[k]) {
				anchors_thumbprint(cert, thumb);
				explain_date(ci.not_after, until);
				admin_say(indent, "%-12s %s",
				    n++ == 0 ? trustset_source_name(src) : "",
				    ci.subject);
				admin_say(indent + 13,
				    "sha256 %s, thumbprint %s, expires %s%s",
				    ci.sha256, thumb, until,
				    ci.not_after < time(NULL) ? " (EXPIRED)"
				                              : "");
			}
			certinfo_clear(&ci);
		}
		if (n == 0)
			admin_say(indent, "%-12s none",
			    trustset_source_name(order[k]));
	}
}

/* A profile's Front End issuer and anchors as members of an object. */
void
anchors_json_profile(struct json *j, const struct admin_profile *ap)
{
	struct certinfo ci;
	enum trustset_source src;
	X509 *cert;
	char thumb[41], *pool = NULL;
	size_t i;

	json_kv_string(j, "profile", ap->p->name);
	json_key(j, "frontend");
	json_object_begin(j);
	if (ap->p->frontend_host != NULL)
		xasprintf(&pool, "%s:%d", ap->p->frontend_host,
		    ap->p->frontend_port);
	json_kv_string(j, "pool", pool);
	free(pool);
	json_kv_bool(j, "learned", ap->fe != NULL && ap->fe->ok);
	json_kv_string(j, "issuer", trustset_frontend_issuer(ap->phone));
	json_kv_string(j, "error", ap->fe != NULL ? ap->fe->error : NULL);
	json_kv_string(j, "frontend_ca", ap->p->frontend_ca_file);
	json_object_end(j);
	json_key(j, "anchors");
	json_array_begin(j);
	for (i = 0; trustset_anchor(ap->phone, i, &src, &ci, &cert) == 0; i++) {
		anchors_thumbprint(cert, thumb);
		json_object_begin(j);
		json_kv_string(j, "source", trustset_source_name(src));
		json_kv_string(j, "subject", ci.subject);
		json_kv_string(j, "sha256", ci.sha256);
		json_kv_string(j, "thumbprint", thumb);
		json_key(j, "certificate");
		resultjson_cert(j, &ci, 0);
		json_object_end(j);
		certinfo_clear(&ci);
	}
	json_array_end(j);
}

/* Print the usage of anchors to fp. */
static void
anchors_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: ewsprobed anchors [-f file] [--profile NAME]... [--json]\n");
}

/* Print what every profile's phones trust, as text or JSON (with rc). */
static void
anchors_print(struct admin *a, int json, int rc)
{
	struct admin_profile *ap;
	struct json *j;
	char *doc;
	size_t i;

	if (json) {
		j = json_new(JSON_PRETTY);
		json_object_begin(j);
		json_key(j, "profiles");
		json_array_begin(j);
		for (i = 0; i < admin_nprofiles(a); i++) {
			json_object_begin(j);
			anchors_json_profile(j, admin_profile(a, i));
			json_object_end(j);
		}
		json_array_end(j);
		json_kv_int(j, "exit_status", rc);
		json_object_end(j);
		doc = json_finish(j, NULL);
		printf("%s\n", doc);
		free(doc);
	} else {
		for (i = 0; i < admin_nprofiles(a); i++) {
			ap = admin_profile(a, i);
			if (i > 0)
				printf("\n");
			admin_say(0, "profile %s: what its phones trust",
			    ap->p->name);
			anchors_print_profile(ap, 2);
		}
	}
}

/*
 * `ewsprobed anchors`: learn each profile's Front End issuer and list what
 * phones trust. Exit 0, 1 when a Front End issuer could not be learned, 3
 * when nothing could be listed (usage, configuration).
 */
int
anchors_main(int argc, char **argv, const char *config_path)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"profile", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct config *cfg = NULL;
	struct admin *a = NULL;
	struct admin_profile *ap;
	char **profiles, *cause = NULL;
	size_t nprofiles = 0, i;
	int ch, json = 0, rc = ADMIN_EXIT_UNKNOWN;

	profiles = xcalloc((size_t)argc + 1, sizeof *profiles);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			config_path = optarg;
			break;
		case 'p':
			profiles[nprofiles++] = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'h':
			anchors_usage(stdout);
			free(profiles);
			return ANCHORS_OK;
		default:
			anchors_usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		anchors_usage(stderr);
		goto out;
	}
	if (admin_config(config_path, &cfg) != 0)
		goto out;
	if ((a = admin_new(cfg, profiles, nprofiles, &cause)) == NULL) {
		admin_error("%s", cause);
		free(cause);
		goto out;
	}
	admin_run(a, NULL, 0);
	rc = ANCHORS_OK;
	for (i = 0; i < admin_nprofiles(a); i++) {
		ap = admin_profile(a, i);
		if (ap->fe != NULL && !ap->fe->ok)
			rc = ANCHORS_FE_UNKNOWN;
	}
	anchors_print(a, json, rc);
out:
	admin_free(a);
	config_unref(cfg);
	free(profiles);
	return rc;
}
