package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.device.DeviceMemory;

import java.util.List;

/** What every hetero batch call checks before anything is sent (spec §1.5 and §1.8: at most 10,000 keys). */
final class HeteroChecks
{
    private HeteroChecks()
    {
    }

    static void checkBatch(final List<String> keys, final List<DeviceBlobList> blobLists, final DeviceMemory device)
    {
        KeyRules.checkReadBatch(keys);
        if (blobLists.size() != keys.size())
        {
            throw new DsException(StatusCode.INVALID, keys.size() + " keys but " + blobLists.size()
                + " blob lists: one DeviceBlobList per key");
        }
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        for (final DeviceBlobList blobs : blobLists)
        {
            if (blobs.deviceIdx() >= device.deviceCount())
            {
                throw new DsException(StatusCode.INVALID, "device " + blobs.deviceIdx() + " does not exist; "
                    + device.description() + " has " + device.deviceCount());
            }
            if (blobs.blobs().size() > FragmentLayout.MAX_FRAGMENTS)
            {
                throw new DsException(StatusCode.INVALID, "a key holds at most " + FragmentLayout.MAX_FRAGMENTS
                    + " blobs, not " + blobs.blobs().size());
            }
        }
    }

    static int maxBlobs(final List<DeviceBlobList> blobLists)
    {
        int max = 0;
        for (final DeviceBlobList blobs : blobLists)
        {
            max = Math.max(max, blobs.blobs().size());
        }
        return max;
    }
}
