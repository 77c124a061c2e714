package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.CreateParam;
import io.ds4j.client.DsClient;
import io.ds4j.client.ObjectClient;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's object example, run against a real worker; the README must show exactly this code. */
class ObjectReadmeExampleTest
{
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

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
        final String readme = Files.readString(ROOT.resolve("README.md"));
        final String test = Files.readString(ROOT.resolve(
            "system-tests/src/test/java/io/ds4j/system/ObjectReadmeExampleTest.java"));
        final String shown = between(readme, "<!-- object-example:start -->\n```java\n",
            "```\n<!-- object-example:end -->");
        final String tested = between(test, "// object-example:start\n", "            // object-example:end");
        final String asShown = tested.replace("\"127.0.0.1\", port)", "\"127.0.0.1\", 31501)");
        assertEquals(normalize(asShown) + "\n}", normalize(shown),
            "README's object example drifted from ObjectReadmeExampleTest; copy the tested code into README.md");
    }

    private static String between(final String text, final String start, final String end)
    {
        final int from = text.indexOf(start);
        final int to = text.indexOf(end, from + 1);
        assertTrue(from >= 0 && to > from, "markers " + start.strip() + " / " + end.strip() + " not found");
        return text.substring(from + start.length(), to);
    }

    private static String normalize(final String code)
    {
        return code.lines().map(String::strip).filter(line -> !line.isEmpty()).reduce("", (a, b) -> a + b + "\n")
            .strip();
    }
}
