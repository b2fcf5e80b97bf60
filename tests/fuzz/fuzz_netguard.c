/* fuzz_netguard.c - libFuzzer harness for the webhook URL check: the first
 * byte picks the loopback switch, the rest is the URL. Invariants: a refusal
 * always gives a reason; what the switch-less check accepts, the switch
 * accepts too (it only widens); nothing crashes on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *url = malloc(size);
	if (!url)
		return 0;
	memcpy(url, data + 1, size - 1);
	url[size - 1] = '\0';
	char why[128] = "";
	int strict = netguard_check_url(url, false, why, sizeof(why));
	if (strict < 0 && !why[0])
		abort();
	why[0] = '\0';
	int loose = netguard_check_url(url, true, why, sizeof(why));
	if (loose < 0 && !why[0])
		abort();
	if (strict == 0 && loose != 0)
		abort();
	free(url);
	return 0;
}
