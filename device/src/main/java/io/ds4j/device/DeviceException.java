package io.ds4j.device;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

/**
 * A device call failed. The status code is the upstream's {@link StatusCode#CUDA_ERROR} (5003) for a CUDA runtime
 * error, whose name ({@code cudaErrorMemoryAllocation}) and number are kept; the host implementation reports its
 * own failures with the status code that fits (INVALID for a bad pointer, OUT_OF_MEMORY, NOT_FOUND for a handle
 * whose process is gone).
 */
public final class DeviceException extends DsException
{
    /** The cudaError_t number, or 0 when the failure is not a CUDA runtime error. */
    private final int cudaError;
    private final String cudaErrorName;

    public DeviceException(final StatusCode code, final String message)
    {
        super(code, message);
        this.cudaError = 0;
        this.cudaErrorName = "";
    }

    public DeviceException(final String call, final int cudaError, final String cudaErrorName,
        final String cudaErrorString)
    {
        super(StatusCode.CUDA_ERROR, call + " failed: " + cudaErrorName + " (" + cudaError + "): " + cudaErrorString);
        this.cudaError = cudaError;
        this.cudaErrorName = cudaErrorName;
    }

    public int cudaError()
    {
        return cudaError;
    }

    public String cudaErrorName()
    {
        return cudaErrorName;
    }
}
