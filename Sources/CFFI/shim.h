#include <ffi.h>

/* Helpers for Swift: libffi's type descriptors are C globals (whose addresses Swift cannot
 * keep portably) and FFI_DEFAULT_ABI is a platform-dependent enum member. */

/* The codes sluice uses for the C scalar types it can call with. */
enum {
  SLUICE_FFI_SINT8 = 1, SLUICE_FFI_SINT16, SLUICE_FFI_SINT32, SLUICE_FFI_SINT64,
  SLUICE_FFI_UINT8, SLUICE_FFI_UINT16, SLUICE_FFI_UINT32, SLUICE_FFI_UINT64,
  SLUICE_FFI_FLOAT, SLUICE_FFI_DOUBLE, SLUICE_FFI_POINTER
};

/* The address of libffi's static type descriptor for `code`; NULL for an unknown code. */
static inline ffi_type* sluice_ffi_type(int code) {
  switch (code) {
    case SLUICE_FFI_SINT8: return &ffi_type_sint8;
    case SLUICE_FFI_SINT16: return &ffi_type_sint16;
    case SLUICE_FFI_SINT32: return &ffi_type_sint32;
    case SLUICE_FFI_SINT64: return &ffi_type_sint64;
    case SLUICE_FFI_UINT8: return &ffi_type_uint8;
    case SLUICE_FFI_UINT16: return &ffi_type_uint16;
    case SLUICE_FFI_UINT32: return &ffi_type_uint32;
    case SLUICE_FFI_UINT64: return &ffi_type_uint64;
    case SLUICE_FFI_FLOAT: return &ffi_type_float;
    case SLUICE_FFI_DOUBLE: return &ffi_type_double;
    case SLUICE_FFI_POINTER: return &ffi_type_pointer;
    default: return NULL;
  }
}

/* ffi_prep_cif with the platform's default calling convention. */
static inline ffi_status sluice_ffi_prep_cif(ffi_cif* cif, unsigned int nargs, ffi_type* rtype,
                                             ffi_type** atypes) {
  return ffi_prep_cif(cif, FFI_DEFAULT_ABI, nargs, rtype, atypes);
}
