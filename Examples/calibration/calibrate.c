/*
 * calibrate: a small C library for the `fn` transform example (pipelines/calibration.yaml).
 * Nothing here knows about sluice: these are plain C functions, called through libffi with
 * the signature declared in the pipeline file.
 *
 *     cc -shared -fPIC -O2 -o libcalibrate.so Examples/calibration/calibrate.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A linear sensor calibration: (raw - offset) * gain. */
double calibrate(double raw, double offset, double gain) { return (raw - offset) * gain; }

/* A reading's band: a pointer to static storage, never freed (`static: true` in YAML). */
const char* grade(double value) {
  if (value < 0) return "below range";
  if (value < 100) return "low";
  if (value < 1000) return "normal";
  return "high";
}

/* A label such as "sensor-7": a fresh string the caller frees with calibrate_free
 * (`free: calibrate_free` in YAML). */
char* sensor_label(const char* prefix, int64_t id) {
  size_t n = strlen(prefix) + 24;
  char* label = malloc(n);
  if (label != NULL) snprintf(label, n, "%s-%lld", prefix, (long long)id);
  return label;
}

void calibrate_free(char* string) { free(string); }
