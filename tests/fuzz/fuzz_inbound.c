/* libFuzzer: the inbound parsers (Authentication-Results, DKIM-Signature,
 * links, the trust list, a fetched original) and the decision never crash
 * and never leak, whatever the header fields hold. The input is split at
 * NUL bytes into: an Authentication-Results value, a DKIM-Signature value,
 * an X-Pull-URL value, a Trust value and an original. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "inbound.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char *part[5] = { "", "", "", "", "" };
	struct inbound_trust_list trust = { 0, NULL };
	struct inbound_fields f;
	struct inbound_decision d;
	struct inbound_original o;
	struct inbound_sig sig;
	struct inbound_url u;
	GPtrArray *res;
	char *id = NULL, *err = NULL;
	const char *why;
	size_t n = 0, orig_len;
	char *ids[] = { "mx.b.example", NULL };

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	part[n++] = copy;
	for (size_t i = 0; i < size && n < 5; i++)
		if (copy[i] == '\0')
			part[n++] = copy + i + 1;
	orig_len = size - (size_t)(part[4] - copy);
	if (n < 5)
		orig_len = 0;

	res = inbound_dkim_results_new();
	if (inbound_ar_parse(part[0], &id, res) == 0 && id == NULL)
		abort();
	g_free(id);
	g_ptr_array_unref(res);
	if (inbound_sig_parse(part[1], &sig) == 0) {
		if (sig.d == NULL || sig.b == NULL || sig.h == NULL)
			abort();
		inbound_sig_clear(&sig);
	}
	if (inbound_url_parse(part[2], false, &u) == 0)
		inbound_url_clear(&u);
	if (inbound_url_parse(part[2], true, &u) == 0)
		inbound_url_clear(&u);
	if (inbound_trust_parse(part[3], &trust, &err) != 0) {
		if (err == NULL)
			abort();
		g_free(err);
		/* A list that always names the fuzzed signer. */
		if (inbound_trust_parse("a.example https://pull.a.example",
		    &trust, &err) != 0)
			abort();
	}
	f.auth_results = g_ptr_array_new();
	f.dkim_sigs = g_ptr_array_new();
	f.pull_urls = g_ptr_array_new();
	g_ptr_array_add(f.auth_results, part[0]);
	g_ptr_array_add(f.dkim_sigs, part[1]);
	g_ptr_array_add(f.pull_urls, part[2]);
	inbound_decide(&trust, ids, &f, &d);
	if (d.why == NULL || (d.fetch && d.entry == NULL))
		abort();
	inbound_decision_clear(&d);
	g_ptr_array_unref(f.auth_results);
	g_ptr_array_unref(f.dkim_sigs);
	g_ptr_array_unref(f.pull_urls);
	inbound_trust_clear(&trust);
	if (inbound_original_parse(part[4], orig_len, &o, &why) == 0) {
		if (o.body + o.body_len != part[4] + orig_len)
			abort();
		inbound_original_clear(&o);
	}
	free(copy);
	return 0;
}
