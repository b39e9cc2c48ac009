/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, for running the Windows build of the
 * refresher under Wine 8 (Debian 12's wine64), which lacks this DLL. Rust's standard library
 * (1.78 and later) imports ProcessPrng from it for random numbers (HashMap seeds); Windows 10
 * and later have it. This is the one function, on top of RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Never shipped: `cargo xtask test` builds it with
 * x86_64-w64-mingw32-gcc into the Wine prefix under target/ (xtask/src/wine.rs).
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
