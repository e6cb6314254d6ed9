/*
 * Functions over every C scalar type the `fn` transform supports, for its tests.
 *     cc -shared -fPIC -O2 -o libfntypes.so Tests/Fixtures/fn/types.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int8_t neg_i8(int8_t x) { return (int8_t)-x; }
int16_t neg_i16(int16_t x) { return (int16_t)-x; }
int32_t neg_i32(int32_t x) { return -x; }
int64_t neg_i64(int64_t x) { return -x; }
uint8_t inc_u8(uint8_t x) { return (uint8_t)(x + 1); }
uint16_t inc_u16(uint16_t x) { return (uint16_t)(x + 1); }
uint32_t inc_u32(uint32_t x) { return x + 1; }
uint64_t inc_u64(uint64_t x) { return x + 1; }
float half_f(float x) { return x / 2; }
double half_d(double x) { return x / 2; }
bool not_b(bool x) { return !x; }
bool is_even(int64_t x) { return x % 2 == 0; }

/* Every type at once: a checksum that would differ if any argument were passed wrong. */
double mix(int8_t a, int16_t b, int32_t c, int64_t d, uint8_t e, uint16_t f, uint32_t g,
           uint64_t h, float i, double j, bool k, const char* s) {
  return (double)a + (double)b * 10 + (double)c * 100 + (double)d * 1000 + (double)e + (double)f +
         (double)g + (double)h + (double)i + j + (k ? 0.5 : 0) + (double)strlen(s) * 1e6;
}

size_t length_of(const char* s) { return strlen(s); }

/* A malloc'ed copy in upper case; freed by the caller with `free`. */
char* shout(const char* s) {
  size_t n = strlen(s);
  char* out = malloc(n + 1);
  for (size_t i = 0; i <= n; i++) out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
  return out;
}

/* Static strings; NULL for 0 (a null result). */
const char* name_of(int32_t x) {
  static const char* names[] = {NULL, "one", "two", "three"};
  return x >= 0 && x <= 3 ? names[x] : "many";
}

/* Not UTF-8. */
const char* broken(int32_t x) { (void)x; return "\xff\xfe"; }

/* How often shout's results were freed: a check that `free:` is honoured. */
static int frees;
void counting_free(void* p) { frees++; free(p); }
int32_t free_count(int32_t ignored) { (void)ignored; return frees; }
