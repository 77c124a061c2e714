package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

import java.util.List;

/**
 * The device fragments of one key (upstream {@code DeviceBlobList(dev_idx, blob_list)}): all on device
 * {@code deviceIdx}, in the order they are gathered into (and scattered back from) the key's value.
 */
public record DeviceBlobList(int deviceIdx, List<Blob> blobs)
{
    public DeviceBlobList
    {
        if (deviceIdx < 0)
        {
            throw new DsException(StatusCode.INVALID, "device index must not be negative: " + deviceIdx);
        }
        if (blobs == null || blobs.isEmpty())
        {
            throw new DsException(StatusCode.INVALID, "a DeviceBlobList needs at least one blob");
        }
        blobs = List.copyOf(blobs);
    }

    public long totalSize()
    {
        long total = 0;
        for (final Blob blob : blobs)
        {
            total += blob.size();
        }
        return total;
    }
}
