package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.WriteMode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's Java example, run against a real worker; the README must show exactly this code. */
class ReadmeExampleTest
{

    @Test
    void exampleRunsAgainstARealWorker()
    {
        try (WorkerProcess worker = WorkerProcess.start())
        {
            final int port = worker.port();
            // example:start
            try (DsClient client = DsClient.connect("127.0.0.1", port)) {
                KvClient kv = client.kv();
                byte[] payload = "hidden states of request 42".getBytes(StandardCharsets.UTF_8);
                kv.set("req-42:0_1", payload,
                       SetParam.builder().writeMode(WriteMode.NONE_L2_CACHE_EVICT).ttlSecond(60).build());
                byte[] back = kv.get("req-42:0_1");

                // wait up to 1000 ms for keys another process has not set yet
                List<byte[]> many = kv.get(List.of("req-42:0_1", "req-43:0_1"), 1000);

                // zero copy: a read-only view of the worker's shared memory, valid until closed
                List<ReadOnlyBuffer> views = kv.getBuffers(List.of("req-42:0_1"), 0);
                try (ReadOnlyBuffer view = views.get(0)) {
                    MemorySegment bytes = view.data();
                    System.out.println("read " + bytes.byteSize() + " bytes in place");
                }

                // two-phase zero-copy write: fill the pool's memory in place, then publish
                List<WritableBuffer> buffers = kv.mcreate(List.of("weights:layer0"), List.of(4096L), SetParam.DEFAULT);
                buffers.get(0).data().fill((byte) 1);
                List<String> failed = kv.msetBuffer(buffers);
            // example:end
                assertArrayEquals(payload, back);
                assertArrayEquals(payload, many.get(0));
                assertNull(many.get(1));
                assertTrue(views.get(0).isZeroCopy());
                assertTrue(failed.isEmpty());
                assertEquals(4096, kv.get("weights:layer0").length);
                assertEquals(1, kv.get("weights:layer0")[4095]);
            }
        }
    }

    @Test
    void readmeShowsExactlyTheTestedCode() throws IOException
    {
        ReadmeSnippets.assertReadmeShows("example", ReadmeExampleTest.class);
    }
}
