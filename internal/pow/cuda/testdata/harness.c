/*
 * Test harness: compiles the kernel's device functions as plain C and answers
 * one request per input line, so the Go tests can check them against
 * golang.org/x/crypto/blake2b and the host's candidate mapping.
 *
 *   L                  -> sizeof(struct job) and the field offsets
 *   C <t> <hex block>  -> the 64-byte digest of a t-byte message in one block
 *   J <hex job>        -> loads c_job from the host's encoding; answers "ok"
 *   W <outer>          -> message words 0..3 of an outer index, in hex
 *   S <outer>          -> search_outer: hit count, then the recorded indices
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.cu"

static int unhex(const char *s, u8 *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (u8)v;
	}
	return 0;
}

static u64 le64(const u8 *b)
{
	u64 v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static char line[1 << 16];

int main(void)
{
	while (fgets(line, sizeof line, stdin)) {
		char *arg = line + 1;
		while (*arg == ' ')
			arg++;
		switch (line[0]) {
		case 'L':
			printf("%zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct job),
			       offsetof(struct job, m), offsetof(struct job, target0),
			       offsetof(struct job, t), offsetof(struct job, len),
			       offsetof(struct job, inner_len), offsetof(struct job, radix),
			       offsetof(struct job, cs));
			break;
		case 'C': {
			unsigned long long t;
			char hex[257];
			u8 block[128];
			u64 m[16], out[8];
			if (sscanf(arg, "%llu %256s", &t, hex) != 2 || strlen(hex) != 256 ||
			    unhex(hex, block, 128)) {
				printf("error\n");
				break;
			}
			for (int i = 0; i < 16; i++)
				m[i] = le64(block + 8 * i);
			blake2b_final(m, (u64)t, out);
			for (int i = 0; i < 8; i++)
				for (int b = 0; b < 8; b++)
					printf("%02x", (unsigned)((out[i] >> (8 * b)) & 0xff));
			printf("\n");
			break;
		}
		case 'J': {
			size_t n = strcspn(arg, "\r\n");
			if (n != 2 * sizeof(struct job) || unhex(arg, (u8 *)&c_job, sizeof(struct job))) {
				printf("error: job is %zu hex chars, want %zu\n", n, 2 * sizeof(struct job));
				break;
			}
			printf("ok\n");
			break;
		}
		case 'W': {
			unsigned long long o;
			u64 w[4];
			if (sscanf(arg, "%llu", &o) != 1) {
				printf("error\n");
				break;
			}
			outer_words((u64)o, w);
			printf("%016llx %016llx %016llx %016llx\n", (unsigned long long)w[0],
			       (unsigned long long)w[1], (unsigned long long)w[2], (unsigned long long)w[3]);
			break;
		}
		case 'S': {
			unsigned long long o;
			u64 res[1 + MAX_HITS];
			if (sscanf(arg, "%llu", &o) != 1) {
				printf("error\n");
				break;
			}
			memset(res, 0, sizeof res);
			search_outer((u64)o, res);
			u32 n = (u32)res[0];
			printf("%u", n);
			for (u32 i = 0; i < n && i < MAX_HITS; i++)
				printf(" %llu", (unsigned long long)res[1 + i]);
			printf("\n");
			break;
		}
		default:
			printf("error: unknown request\n");
		}
		fflush(stdout);
	}
	return 0;
}
