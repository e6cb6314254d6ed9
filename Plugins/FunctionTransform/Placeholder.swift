import CFFI
