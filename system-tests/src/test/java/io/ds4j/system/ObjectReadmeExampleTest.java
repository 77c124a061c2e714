package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.CreateParam;
import io.ds4j.client.DsClient;
import io.ds4j.client.ObjectClient;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The README's object example, run against a real worker; the README must show exactly this code. */
class ObjectReadmeExampleTest
{

    @Test
    void objectExampleRunsAgainstARealWorker()
    {
        try (WorkerProcess worker = WorkerProcess.start())
        {
            final int port = worker.port();
            // object-example:start
            try (DsClient client = DsClient.connect("127.0.0.1", port)) {
                ObjectClient objects = client.object();
                objects.put("tokenizer", "vocab".getBytes(), CreateParam.DEFAULT);

                // fill an object in place, then publish it; it holds a reference on "tokenizer"
                try (Buffer model = objects.create("model", 1024, CreateParam.DEFAULT)) {
                    model.mutableData().fill((byte) 7);
                    model.publish(List.of("tokenizer"));
                }

                // readers and writers in any process on this host agree through the object's latch
                try (Buffer model = objects.get(List.of("model"), 1000).get(0)) {
                    model.wLatch(1000);
                    model.mutableData().set(ValueLayout.JAVA_BYTE, 0, (byte) 8);
                    model.unWLatch();
                }

                // an object goes when its global reference count falls to 0, and takes its nested keys along
                objects.gIncreaseRef(List.of("model"));
                int refs = objects.queryGlobalRefNum("model");
                objects.gDecreaseRef(List.of("model"));
            // object-example:end
                assertEquals(1, refs);
                assertFalse(client.kv().exist(List.of("model")).get(0));
                assertFalse(client.kv().exist(List.of("tokenizer")).get(0));
            }
        }
    }

    @Test
    void readmeShowsExactlyTheTestedCode() throws IOException
    {
        ReadmeSnippets.assertReadmeShows("object-example", ObjectReadmeExampleTest.class);
    }
}
