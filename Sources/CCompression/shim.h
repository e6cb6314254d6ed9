/* Debian's compression libraries, as one module for Swift: liblz4-dev, libzstd-dev,
 * libsnappy-dev and zlib1g-dev. */
#include <lz4.h>
#include <zstd.h>
#include <snappy-c.h>
#include <zlib.h>
