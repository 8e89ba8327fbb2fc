/*
 * BLAKE2b-512(password . salt) mask-attack kernel for the compute proof of work
 * (hashcat mode 610 semantics).
 *
 * The message always fits one 128-byte block: the password (at most MAX_LEN
 * bytes) followed by the salt. The host lays the salt out in c_job.m with the
 * password bytes zero; a candidate only ORs its characters into message words
 * 0..3. Candidate index -> password is mixed radix with position 0 as the least
 * significant digit:
 *
 *   index = d0 + r0 * (d1 + r1 * (d2 + r2 * (...)))
 *
 * One thread takes one "outer" index (the digits of positions inner_len..len-1,
 * decoded once) and loops over the inner positions 0 and 1, which only touch the
 * low bytes of message word 0. Only the first digest word is computed and
 * compared; the host confirms every hit against the full digest.
 *
 * The file compiles three ways:
 *   - NVRTC (__CUDACC_RTC__): the GPU kernel;
 *   - nvcc (__CUDACC__): same, for offline inspection;
 *   - plain C (gcc): the device functions only, with shims for the CUDA
 *     intrinsics, so tests can check the arithmetic without a GPU.
 */

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;
#define DEV static __device__ __forceinline__
#define CONSTMEM __constant__
#else
#include <stdint.h>
typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;
#define DEV static inline
#define CONSTMEM

/* CUDA semantics: bytes of x are inputs 0..3, bytes of y inputs 4..7; nibble n
 * of s selects result byte n. */
static inline u32 __byte_perm(u32 x, u32 y, u32 s)
{
	u64 in = ((u64)y << 32) | x;
	u32 r = 0;
	for (int n = 0; n < 4; n++) {
		u32 sel = (s >> (4 * n)) & 7;
		r |= (u32)((in >> (8 * sel)) & 0xff) << (8 * n);
	}
	return r;
}

/* CUDA semantics: the upper 32 bits of (hi:lo << (sh & 31)). */
static inline u32 __funnelshift_l(u32 lo, u32 hi, u32 sh)
{
	u64 v = ((u64)hi << 32) | lo;
	return (u32)((v << (sh & 31)) >> 32);
}

static inline u32 atomicAdd(u32 *p, u32 v)
{
	u32 old = *p;
	*p = old + v;
	return old;
}
#endif

#define MAX_LEN 32   /* password bytes: message words 0..3 */
#define MAX_CS 256   /* characters per position */
#define MAX_HITS 8   /* first-word matches recorded per launch */

/* Layout shared with the host (kernel.go encodes it byte by byte):
 * offset 0 m, 128 target0, 136 t, 144 len, 148 inner_len, 152 radix,
 * 280 cs; size 8472. */
struct job {
	u64 m[16];              /* message block: salt in place, password bytes zero */
	u64 target0;            /* first 64-bit word of the target digest */
	u64 t;                  /* message length in bytes */
	u32 len;                /* password length */
	u32 inner_len;          /* positions decoded in the inner loop: 0, 1 or 2 */
	u32 radix[MAX_LEN];     /* characters per position */
	u8 cs[MAX_LEN][MAX_CS]; /* characters per position */
};

/* A namespace-scope variable keeps its plain name ("c_job") in the module. */
CONSTMEM struct job c_job;

/* 64-bit rotations on the two 32-bit halves. */
DEV u64 mk64(u32 lo, u32 hi) { return ((u64)hi << 32) | lo; }

DEV u64 rotr32(u64 x) { return mk64((u32)(x >> 32), (u32)x); }

DEV u64 rotr24(u64 x)
{
	u32 lo = (u32)x, hi = (u32)(x >> 32);
	return mk64(__byte_perm(lo, hi, 0x6543), __byte_perm(hi, lo, 0x6543));
}

DEV u64 rotr16(u64 x)
{
	u32 lo = (u32)x, hi = (u32)(x >> 32);
	return mk64(__byte_perm(lo, hi, 0x5432), __byte_perm(hi, lo, 0x5432));
}

DEV u64 rotr63(u64 x)
{
	u32 lo = (u32)x, hi = (u32)(x >> 32);
	return mk64(__funnelshift_l(hi, lo, 1), __funnelshift_l(lo, hi, 1));
}

#define IV0 0x6a09e667f3bcc908ULL
#define IV1 0xbb67ae8584caa73bULL
#define IV2 0x3c6ef372fe94f82bULL
#define IV3 0xa54ff53a5f1d36f1ULL
#define IV4 0x510e527fade682d1ULL
#define IV5 0x9b05688c2b3e6c1fULL
#define IV6 0x1f83d9abfb41bd6bULL
#define IV7 0x5be0cd19137e2179ULL
/* h0 for an unkeyed 64-byte digest: IV0 ^ 0x01010040 */
#define H0 (IV0 ^ 0x01010040ULL)

#define G(a, b, c, d, x, y)          \
	do {                         \
		a = a + b + (x);     \
		d = rotr32(d ^ a);   \
		c = c + d;           \
		b = rotr24(b ^ c);   \
		a = a + b + (y);     \
		d = rotr16(d ^ a);   \
		c = c + d;           \
		b = rotr63(b ^ c);   \
	} while (0)

#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
	do {                                                                        \
		G(v0, v4, v8, v12, m[s0], m[s1]);                                   \
		G(v1, v5, v9, v13, m[s2], m[s3]);                                   \
		G(v2, v6, v10, v14, m[s4], m[s5]);                                  \
		G(v3, v7, v11, v15, m[s6], m[s7]);                                  \
		G(v0, v5, v10, v15, m[s8], m[s9]);                                  \
		G(v1, v6, v11, v12, m[s10], m[s11]);                                \
		G(v2, v7, v8, v13, m[s12], m[s13]);                                 \
		G(v3, v4, v9, v14, m[s14], m[s15]);                                 \
	} while (0)

/* blake2b_final compresses the single, final block m of a t-byte message and
 * writes the digest words to out. Callers that read only out[0] let the
 * compiler drop the work feeding the other words. */
DEV void blake2b_final(const u64 m[16], u64 t, u64 out[8])
{
	u64 v0 = H0, v1 = IV1, v2 = IV2, v3 = IV3;
	u64 v4 = IV4, v5 = IV5, v6 = IV6, v7 = IV7;
	u64 v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
	u64 v12 = IV4 ^ t, v13 = IV5, v14 = ~IV6, v15 = IV7;

	ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
	ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
	ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
	ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
	ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
	ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
	ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
	ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
	ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
	ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);

	out[0] = H0 ^ v0 ^ v8;
	out[1] = IV1 ^ v1 ^ v9;
	out[2] = IV2 ^ v2 ^ v10;
	out[3] = IV3 ^ v3 ^ v11;
	out[4] = IV4 ^ v4 ^ v12;
	out[5] = IV5 ^ v5 ^ v13;
	out[6] = IV6 ^ v6 ^ v14;
	out[7] = IV7 ^ v7 ^ v15;
}

/* outer_words decodes the outer index o into the password bytes of positions
 * inner_len..len-1, placed in message words w[0..3] (other bytes zero). */
DEV void outer_words(u64 o, u64 w[4])
{
	u64 w0 = 0, w1 = 0, w2 = 0, w3 = 0;
	const u32 len = c_job.len;
	for (u32 p = c_job.inner_len; p < len; p++) {
		const u32 r = c_job.radix[p];
		const u64 q = o / r;
		const u32 d = (u32)(o - q * r);
		o = q;
		const u64 ch = (u64)c_job.cs[p][d] << ((p & 7) * 8);
		if (p < 8)
			w0 |= ch;
		else if (p < 16)
			w1 |= ch;
		else if (p < 24)
			w2 |= ch;
		else
			w3 |= ch;
	}
	w[0] = w0;
	w[1] = w1;
	w[2] = w2;
	w[3] = w3;
}

/* MSG_WORDS is the number of message words the kernel reads from c_job.m; the
 * rest are zero. The host builds the kernel twice, with 4 (messages of at most
 * 32 bytes, every validator challenge: up to 12 password characters and a
 * 16-character salt) and with 16. A message word known to be zero turns the
 * additions of G that take it from three operands into two, whose high-word
 * add with carry the compiler puts on the multiply-add pipe: the integer logic
 * pipe, which limits the kernel (99% busy on an H200), gets 7% fewer
 * instructions per hash (1689 against 1824 in the hash loop, sm_90). */
#ifndef MSG_WORDS
#define MSG_WORDS 16
#endif

/* search_outer hashes every candidate of outer index o and records the
 * candidate indices whose first digest word matches in res: res[0] counts the
 * hits (low 32 bits), res[1..MAX_HITS] hold the first MAX_HITS indices. */
DEV void search_outer(u64 o, u64 *res)
{
	u64 w[4];
	outer_words(o, w);

	u64 m[16];
	m[0] = c_job.m[0] | w[0];
	m[1] = c_job.m[1] | w[1];
	m[2] = c_job.m[2] | w[2];
	m[3] = c_job.m[3] | w[3];
	for (int i = 4; i < 16; i++)
		m[i] = i < MSG_WORDS ? c_job.m[i] : 0;

	const u64 t = c_job.t;
	const u64 target0 = c_job.target0;
	const u64 base0 = m[0];
	const u32 inner = c_job.inner_len;
	const u32 r0 = inner > 0 ? c_job.radix[0] : 1;
	const u32 r1 = inner > 1 ? c_job.radix[1] : 1;

	for (u32 j = 0; j < r1; j++) {
		const u64 c1 = inner > 1 ? (u64)c_job.cs[1][j] << 8 : 0;
		for (u32 i = 0; i < r0; i++) {
			const u64 c0 = inner > 0 ? (u64)c_job.cs[0][i] : 0;
			m[0] = base0 | c1 | c0;
			u64 out[8];
			blake2b_final(m, t, out);
			if (out[0] == target0) {
				const u32 k = atomicAdd((u32 *)res, 1u);
				if (k < MAX_HITS)
					res[1 + k] = (o * r1 + j) * r0 + i;
			}
		}
	}
}

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
/* KERNEL_MIN_BLOCKS asks the compiler to fit that many 256-thread blocks on a
 * multiprocessor: 3 (24 warps) keeps the 4-word kernel at 72 registers, where
 * it would take 90 and fit only 2 blocks. */
#ifndef KERNEL_MIN_BLOCKS
#define KERNEL_MIN_BLOCKS 3
#endif
/* blake2b_mask searches the outer indices base .. base+count-1. */
extern "C" __global__ void __launch_bounds__(256, KERNEL_MIN_BLOCKS) blake2b_mask(u64 base, u64 count, u64 *res)
{
	const u64 stride = (u64)gridDim.x * blockDim.x;
	for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride)
		search_outer(base + i, res);
}
#endif
