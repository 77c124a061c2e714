package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.CreateParam;
import io.ds4j.client.DsClient;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Objects moving between the pool and the spill tier keep what was written into them in place. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ObjectTiersTest
{
    @TempDir
    Path dir;

    @Test
    void bytesWrittenInPlaceIntoAReloadedObjectSurviveTheNextSpill()
    {
        try (WorkerProcess worker = WorkerProcess.start("shared_memory_size_mb", "64", "spill_directory",
            dir.resolve("spill").toString());
             DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final byte[] first = randomBytes(1, 4 * MIB);
            final byte[] second = randomBytes(2, 4 * MIB);
            client.object().put("obj", first, CreateParam.DEFAULT);
            pushOut(client, "a");
            try (Buffer reloaded = client.object().get(List.of("obj"), 0).getFirst())
            {
                assertArrayEquals(first, reloaded.immutableData().toArray(ValueLayout.JAVA_BYTE));
                // an unsealed object is written in place, without a publish
                reloaded.memoryCopy(second);
            }
            pushOut(client, "b");
            try (Buffer again = client.object().get(List.of("obj"), 0).getFirst())
            {
                assertArrayEquals(second, again.immutableData().toArray(ValueLayout.JAVA_BYTE),
                    "the object came back from a stale spill copy");
            }
        }
    }

    /** Writes two pools' worth of other values so that "obj" is evicted to spill. */
    private static void pushOut(final DsClient client, final String prefix)
    {
        for (int i = 0; i < 32; i++)
        {
            client.kv().set(prefix + i, new byte[4 * MIB]);
        }
    }
}
