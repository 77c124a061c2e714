package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.client.hetero.DeviceBlobList;
import io.ds4j.client.hetero.HeteroClient;
import io.ds4j.device.DeviceMemory;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A producer of device data in its own JVM, for {@link DeviceScenarios}. Prints result lines and exits 0, or prints
 * {@code FAIL reason} and exits 2. Arguments: {@code host port device-mode command keys fragments size seed}, keys
 * comma-separated, device-mode {@code host} or {@code cuda}; the fragments are on device 0 ({@link DevicePattern}).
 * <ul>
 *   <li>{@code d2h}: msetD2H, prints {@code STORED}, exits (the host objects stay in the worker)</li>
 *   <li>{@code devset}: devMset, prints {@code REGISTERED failed}, then holds the device memory until the stdin line
 *   {@code EXIT} (or a kill); on the line {@code RENEW} it devDeletes the keys, frees the memory, allocates it anew
 *   with the pattern of seed + 1 (a freed allocation's fd number is reused), devMsets the keys again and prints
 *   {@code RENEWED failed}</li>
 *   <li>{@code publish}: devPublish, prints {@code PUBLISHED}, waits for the receipts, prints {@code RECEIVED}</li>
 *   <li>{@code remote-get}: a reader that says it is on another host (system property {@code ds4j.hostId}), over
 *   TCP: devMget into blobs on device 1, prints {@code PULLED failed} and {@code MISMATCH where} or {@code EXACT}</li>
 * </ul>
 */
public final class DeviceProgram
{
    private DeviceProgram()
    {
    }

    public static void main(final String[] args)
    {
        try
        {
            run(args);
            System.exit(0);
        }
        catch (final Throwable e)
        {
            System.out.println("FAIL " + e);
            e.printStackTrace(System.out);
            System.out.flush();
            System.exit(2);
        }
    }

    private static void remoteGet(final String host, final int port, final List<String> keys, final int fragments,
        final int size, final long seed)
    {
        System.setProperty("ds4j.hostId", "another-host/pid:[1]");
        try (DsClient client = DsClient.connect(io.ds4j.client.ConnectOptions.builder(host, port)
            .transport(io.ds4j.client.ConnectOptions.Transport.TCP_INLINE).build()))
        {
            final HeteroClient hetero = client.hetero();
            final DeviceMemory memory = hetero.deviceMemory();
            final List<DeviceBlobList> blobs = DevicePattern.allocate(memory, 1, keys.size(), fragments, size);
            System.out.println("PULLED " + hetero.devMget(keys, blobs, 0));
            String mismatch = null;
            for (int k = 0; k < keys.size() && mismatch == null; k++)
            {
                mismatch = DevicePattern.mismatch(memory, blobs.get(k), k, seed);
            }
            System.out.println(mismatch == null ? "EXACT" : "MISMATCH " + mismatch);
            DevicePattern.free(memory, blobs);
        }
    }

    private static void run(final String[] args) throws Exception
    {
        System.setProperty("ds4j.device", args[2]);
        final String command = args[3];
        final List<String> keys = List.of(args[4].split(","));
        final int fragments = Integer.parseInt(args[5]);
        final int size = Integer.parseInt(args[6]);
        final long seed = Long.parseLong(args[7]);
        if (command.equals("remote-get"))
        {
            remoteGet(args[0], Integer.parseInt(args[1]), keys, fragments, size, seed);
            return;
        }
        try (DsClient client = DsClient.connect(args[0], Integer.parseInt(args[1])))
        {
            final HeteroClient hetero = client.hetero();
            final DeviceMemory memory = hetero.deviceMemory();
            final List<DeviceBlobList> blobs = new java.util.ArrayList<>(
                DevicePattern.allocate(memory, 0, keys.size(), fragments, size));
            DevicePattern.fill(memory, blobs, seed);
            switch (command)
            {
                case "d2h" ->
                {
                    final List<String> failed = hetero.msetD2H(keys, blobs, SetParam.DEFAULT);
                    System.out.println("STORED " + failed);
                }
                case "devset" ->
                {
                    System.out.println("REGISTERED " + hetero.devMset(keys, blobs));
                    final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in,
                        StandardCharsets.UTF_8));
                    String line;
                    List<DeviceBlobList> held = blobs;
                    while ((line = stdin.readLine()) != null && !line.equals("EXIT"))
                    {
                        // hold the device memory: the objects live in it
                        if (line.equals("RENEW"))
                        {
                            hetero.devDelete(keys);
                            DevicePattern.free(memory, held);
                            held = DevicePattern.allocate(memory, 0, keys.size(), fragments, size);
                            DevicePattern.fill(memory, held, seed + 1);
                            System.out.println("RENEWED " + hetero.devMset(keys, held));
                        }
                    }
                    blobs.clear();
                    blobs.addAll(held);
                    System.out.println("EXITING");
                }
                case "publish" ->
                {
                    final List<CompletableFuture<Void>> receipts = hetero.devPublish(keys, blobs);
                    System.out.println("PUBLISHED");
                    CompletableFuture.allOf(receipts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                    System.out.println("RECEIVED");
                }
                default -> throw new IllegalArgumentException("unknown command " + command);
            }
            System.out.flush();
            DevicePattern.free(memory, blobs);
        }
    }
}
