/* A stand-in for Windows' bcryptprimitives.dll, used only to run the Windows builds under
 * Wine 8 (Debian 12), which lacks the DLL. Rust's standard library (1.78 and later) takes its
 * random numbers from ProcessPrng there; without it no Rust program starts ("Library
 * bcryptprimitives.dll not found", c0000135). This forwards to RtlGenRandom (advapi32's
 * SystemFunction036), Windows' older interface to the same system generator. Built with
 * mingw-w64 by `cargo xtask test` and put in the test prefix's system32; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes at most a ULONG at a time. */
    while (length > 0) {
        ULONG piece = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, piece)) {
            return FALSE;
        }
        data += piece;
        length -= piece;
    }
    /* Windows documents that ProcessPrng always succeeds. */
    return TRUE;
}
