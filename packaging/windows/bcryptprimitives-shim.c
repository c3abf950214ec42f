/*
 * Test-only shim for Wine 8.0: bcryptprimitives.dll with the one export Rust's standard
 * library imports on Windows, ProcessPrng (Windows 10+). Wine 8.0's builtin
 * bcryptprimitives.dll lacks it, so aviary.exe exits at load with status 53 under Wine 8.0.
 * ProcessPrng forwards to RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 *
 * Built by scripts/wine-smoke.sh with MinGW-w64 and placed next to the executables in the
 * smoke-test folder only. It is NEVER shipped: every real Windows 10/11 has ProcessPrng, and
 * newer Wine (9.0+) has it too.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
