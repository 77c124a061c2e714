package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

/**
 * One fragment of device memory (upstream {@code Blob(dev_ptr, size)}): {@code size} bytes at device pointer
 * {@code devPtr} of the device its {@link DeviceBlobList} names.
 */
public record Blob(long devPtr, long size)
{
    public Blob
    {
        if (size < 0)
        {
            throw new DsException(StatusCode.INVALID, "a blob's size must not be negative: " + size);
        }
    }
}
