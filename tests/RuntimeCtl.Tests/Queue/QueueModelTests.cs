using System.Text;
using System.Text.Json;
using CsCheck;

namespace RuntimeCtl.Tests.Queue;

/// <summary>
/// Random interleavings of what happens to a queue (appends, torn writes and their repair, truncation, replacement
/// of the file, polls, trainers abandoned without a goodbye as a kill leaves them) against a simple model: no command
/// runs twice, no id is acked twice, every ack line is valid, and after a final drain every command in the file has
/// its ack and every command appended after the last replacement ran exactly once.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class QueueModelTests
{
    private enum Op
    {
        Append,
        AppendTorn,
        Poll,
        Abandon,
        Truncate,
        Replace,
    }

    private static readonly Gen<Op> Ops = Gen.Frequency(
        (6, Gen.Const(Op.Append)),
        (1, Gen.Const(Op.AppendTorn)),
        (4, Gen.Const(Op.Poll)),
        (2, Gen.Const(Op.Abandon)),
        (1, Gen.Const(Op.Truncate)),
        (1, Gen.Const(Op.Replace)));

    [Fact]
    public void PollAndApply_RandomHistoriesOfTheQueue_MatchTheModel()
    {
        // A fixed seed keeps CI deterministic; RUNTIMECTL_MODEL_SEED= (empty) explores new histories, another value replays one.
        var seed = Environment.GetEnvironmentVariable("RUNTIMECTL_MODEL_SEED") is { } chosen ? (chosen.Length == 0 ? null : chosen) : "1EKtoUDHw6D1";
        Ops.Array[1, 40].Sample(ops => Run(ops), seed: seed, iter: 300, threads: 1);
    }

    private static void Run(Op[] ops)
    {
        // A killed trainer is not disposed while its history runs. It is once the history is checked and its queue
        // directory removed: left to the garbage collector, 300 histories' file watchers held every inotify instance
        // the user has (128), which other tests and processes then could not get.
        var trainers = new List<RuntimeController<TrainState>>();
        try
        {
            Run(ops, trainers);
        }
        finally
        {
            foreach (var trainer in trainers)
            {
                trainer.Dispose();
            }
        }
    }

    private static void Run(Op[] ops, List<RuntimeController<TrainState>> trainers)
    {
        using var q = new TempQueueDirectory();
        var applied = new Dictionary<string, int>();
        var sinceReplace = new List<string>(); // ids appended after the last truncation or replacement
        var next = 0;
        var torn = false;
        RuntimeController<TrainState>? trainer = null;
        RuntimeController<TrainState> Trainer()
        {
            if (trainer is null)
            {
                trainer = Create(q.Dir, applied);
                trainers.Add(trainer);
            }

            return trainer;
        }

        Trainer(); // the queue exists from the start

        foreach (var op in ops)
        {
            switch (op)
            {
                case Op.Append:
                    var id = $"c{next++}";
                    q.AppendRaw((torn ? "\n" : string.Empty) + Line(id)); // a writer that repairs a torn tail, as ours do
                    torn = false;
                    sinceReplace.Add(id);
                    break;
                case Op.AppendTorn when !torn:
                    q.AppendRaw((torn ? "\n" : string.Empty) + Line($"t{next++}")[..10]); // a writer that died mid-line
                    torn = true;
                    break;
                case Op.Poll:
                    Trainer().PollAndApply(new TrainState(), TimeSpan.Zero);
                    break;
                case Op.Abandon:
                    trainer = null; // killed between polls: no Dispose, nothing flushed beyond what a poll wrote
                    break;
                case Op.Truncate:
                    File.WriteAllText(q.Commands, string.Empty);
                    sinceReplace.Clear();
                    torn = false;
                    break;
                case Op.Replace:
                    // A rotated file: some ids seen before (must not run again) and one new command.
                    var replacement = new StringBuilder();
                    foreach (var old in applied.Keys.Take(2))
                    {
                        replacement.Append(Line(old));
                    }

                    var fresh = $"c{next++}";
                    replacement.Append(Line(fresh));
                    var temp = q.Commands + ".new";
                    File.WriteAllText(temp, replacement.ToString());
                    File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                    File.Move(temp, q.Commands, overwrite: true);
                    sinceReplace.Clear();
                    sinceReplace.Add(fresh);
                    torn = false;
                    break;
            }
        }

        // Drain with a fresh trainer, as after a restart: twice, the second must change nothing.
        using (var drain = Create(q.Dir, applied))
        {
            drain.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var acksAfterDrain = File.ReadAllLines(q.Acks).Length;
        using (var again = Create(q.Dir, applied))
        {
            again.PollAndApply(new TrainState(), TimeSpan.Zero);
        }

        var history = string.Join(' ', ops);
        Assert.True(applied.Values.All(n => n == 1), $"a command ran twice: {string.Join(", ", applied.Where(a => a.Value > 1))} after {history}");
        var acks = File.ReadAllLines(q.Acks).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList(); // every ack line valid
        Assert.True(acks.Count == acksAfterDrain, $"a drained queue changed on the next start after {history}");
        var ackedIds = acks.Where(a => a.GetProperty("op").GetString() != "invalid").Select(a => a.GetProperty("id").GetString()!).ToList();
        Assert.True(ackedIds.Count == ackedIds.Distinct().Count(), $"an id was acked twice after {history}");
        var inFile = File.ReadAllLines(q.Commands).Select(CommandId).OfType<string>();
        Assert.True(inFile.All(ackedIds.Contains), $"a command in the file has no ack after {history}");
        Assert.True(sinceReplace.All(id => applied.GetValueOrDefault(id) == 1), $"a command appended after the last replacement did not run after {history}");
    }

    private static RuntimeController<TrainState> Create(string dir, Dictionary<string, int> applied)
    {
        var rt = new RuntimeController<TrainState>(new RuntimeControllerOptions { OnDiagnostic = _ => { } });
        rt.RegisterOptions<RunOptions>("run", (_, o) => applied[o.Id!] = applied.GetValueOrDefault(o.Id!) + 1);
        rt.Configure(dir);
        return rt;
    }

    private static string Line(string id) => "{\"id\":\"" + id + "\",\"path\":\"run\",\"kwargs\":{\"id\":\"" + id + "\"}}\n";

    public sealed class RunOptions
    {
        public string? Id { get; set; }
    }

    private static string? CommandId(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.TryGetProperty("id", out var id) ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
