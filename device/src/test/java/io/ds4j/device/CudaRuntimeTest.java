package io.ds4j.device;

import io.ds4j.common.StatusCode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The bindings' error path, which needs the CUDA runtime library but no GPU (nor driver): where the toolkit is
 * installed, every error is named by the runtime itself.
 */
class CudaRuntimeTest
{
    private static CudaRuntime cuda;
    private static String missing;

    @BeforeAll
    static void load()
    {
        try
        {
            cuda = CudaRuntime.load();
        }
        catch (final IllegalStateException e)
        {
            missing = e.getMessage();
        }
    }

    @Test
    void errorsCarryTheRuntimesNameAndTheUpstreamStatusCode()
    {
        assumeTrue(cuda != null, () -> "no CUDA runtime library: " + missing);
        assertEquals("cudaErrorMemoryAllocation", cuda.errorName(2));
        assertEquals("cudaErrorInsufficientDriver", cuda.errorName(35));
        final DeviceException e = assertThrows(DeviceException.class, () -> cuda.check("cudaMalloc(64)", 2));
        assertEquals(StatusCode.CUDA_ERROR, e.code());
        assertEquals(5003, e.code().value());
        assertEquals(2, e.cudaError());
        assertEquals("cudaErrorMemoryAllocation", e.cudaErrorName());
        assertTrue(e.getMessage().contains("cudaMalloc(64) failed: cudaErrorMemoryAllocation (2)"), e.getMessage());
    }

    @Test
    void theDeviceCountSaysWhyThereIsNone()
    {
        assumeTrue(cuda != null, () -> "no CUDA runtime library: " + missing);
        final int count = cuda.deviceCountOrError();
        if (count < 0)
        {
            assertTrue(cuda.errorName(-count).startsWith("cudaError"), cuda.errorName(-count));
        }
    }

    @Test
    void aMissingLibraryNamesEveryNameTried()
    {
        assumeTrue(cuda == null, "the CUDA runtime library is here");
        for (final String name : CudaRuntime.LIBRARY_NAMES)
        {
            assertTrue(missing.contains(name), missing);
        }
    }
}
