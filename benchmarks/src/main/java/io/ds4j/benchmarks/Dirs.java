package io.ds4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary folders of a run. */
final class Dirs
{
    private Dirs()
    {
    }

    /** Deletes {@code root} and everything under it, best effort: a temporary folder left behind is harmless. */
    static void deleteTree(final Path root)
    {
        if (root == null || !Files.exists(root))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(root))
        {
            walk.sorted(Comparator.reverseOrder()).forEach(path ->
            {
                try
                {
                    Files.deleteIfExists(path);
                }
                catch (final IOException ignored)
                {
                    // best effort
                }
            });
        }
        catch (final IOException ignored)
        {
            // best effort
        }
    }
}
