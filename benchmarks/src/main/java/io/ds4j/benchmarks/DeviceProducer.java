package io.ds4j.benchmarks;

import io.ds4j.client.DsClient;
import io.ds4j.client.hetero.Blob;
import io.ds4j.client.hetero.DeviceBlobList;
import io.ds4j.client.hetero.HeteroClient;
import io.ds4j.device.DeviceMemory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The producer process of {@code dsbench device}'s devMget figure: devMsets {@code keys} objects of {@code fragments}
 * blobs of {@code size} bytes on device 0, prints {@code READY}, and holds them until its stdin closes. Arguments:
 * {@code host port device-mode keys fragments size}.
 */
public final class DeviceProducer
{
    private DeviceProducer()
    {
    }

    public static void main(final String[] args) throws IOException
    {
        System.setProperty("ds4j.device", args[2]);
        final int keys = Integer.parseInt(args[3]);
        final int fragments = Integer.parseInt(args[4]);
        final long size = Long.parseLong(args[5]);
        try (DsClient client = DsClient.connect(args[0], Integer.parseInt(args[1])))
        {
            final HeteroClient hetero = client.hetero();
            final DeviceMemory memory = hetero.deviceMemory();
            final List<String> names = new ArrayList<>();
            final List<DeviceBlobList> lists = new ArrayList<>();
            for (int k = 0; k < keys; k++)
            {
                final long base = memory.malloc(0, fragments * size);
                memory.copyHostToDevice(0, MemorySegment.ofArray(new byte[(int) (fragments * size)]), base);
                final List<Blob> blobs = new ArrayList<>();
                for (int f = 0; f < fragments; f++)
                {
                    blobs.add(new Blob(base + f * size, size));
                }
                names.add("bench-dev-" + k);
                lists.add(new DeviceBlobList(0, blobs));
            }
            hetero.devDelete(names);
            System.out.println("READY " + hetero.devMset(names, lists));
            System.out.flush();
            while (System.in.read() >= 0)
            {
                // hold the device memory until the benchmark closes stdin
            }
        }
    }
}
