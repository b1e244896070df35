using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace RuntimeCtl.Tests;

public sealed class RuntimeControllerTests : IDisposable
{
    private readonly TempQueueDirectory _q = new();

    public void Dispose() => _q.Dispose();

    private List<JsonElement> Run(params string[] lines)
    {
        using var rt = Trainer.Create(_q.Dir);
        foreach (var line in lines)
        {
            _q.AppendLine(line);
        }

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);
        return _q.ReadAcks();
    }

    private JsonElement One(string line)
    {
        var acks = Run(line);
        Assert.Single(acks);
        return acks[0];
    }

    [Fact]
    public void PollAndApply_AppliedCommand_AckHasExactlyTheOriginalKeys()
    {
        var ack = One("""{"id":"a1","ts":1.0,"op":"set","path":"model.dropout.p","args":[0.2],"kwargs":{}}""");

        Assert.Equal(["id", "ts", "path", "op", "status", "args", "kwargs"], TempQueueDirectory.Keys(ack));
        Assert.Equal("a1", ack.GetProperty("id").GetString());
        Assert.Equal("applied", ack.GetProperty("status").GetString());
        Assert.Equal(0.2, ack.GetProperty("args")[0].GetDouble());
        Assert.Equal(JsonValueKind.Number, ack.GetProperty("ts").ValueKind);
    }

    [Fact]
    public void PollAndApply_ValidatorConvertsNumericString_AckEchoesNumber()
    {
        var ack = One("""{"id":"a","path":"optimizer.lr.multiplier","args":["0.5"]}""");

        Assert.Equal("applied", ack.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Number, ack.GetProperty("args")[0].ValueKind);
        Assert.Equal(0.5, ack.GetProperty("args")[0].GetDouble());
        Assert.Equal("set", ack.GetProperty("op").GetString());
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public void PollAndApplyAtStep_StepThatNeverAdvances_IsReportedOnce(bool advancing, int reports)
    {
        var seen = new List<string>();
        using var rt = Trainer.Create(options: new RuntimeControllerOptions { OnDiagnostic = d => seen.Add(d.Code) });
        rt.Configure(_q.Dir);
        var state = new TrainState();

        for (var i = 0; i < 2_500_000; i++)
        {
            rt.PollAndApplyAtStep(state, advancing ? i : 2, everySteps: int.MaxValue);
        }

        Assert.Equal(reports, seen.Count(c => c == "step-not-advancing"));
    }

    [Fact]
    public void PollAndApply_WithAnIntegerSecondArgument_IsACompileError()
    {
        // PollAndApply(state, 2) read as "every 2 seconds" but polled by step 2: it now names the two ways instead.
        var method = typeof(RuntimeController<TrainState>).GetMethod(nameof(RuntimeController<TrainState>.PollAndApply), [typeof(TrainState), typeof(long), typeof(int)])!;
        var obsolete = Assert.Single(method.GetCustomAttributes(typeof(ObsoleteAttribute), inherit: false).Cast<ObsoleteAttribute>());

        Assert.True(obsolete.IsError);
        Assert.Contains("PollAndApplyAtStep", obsolete.Message, StringComparison.Ordinal);
        Assert.Contains("everySeconds:", obsolete.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_EveryTypedForm_ValidatorResultIsWhatTheControlGetsAndTheAckEchoes()
    {
        // One validator shape for every form: it returns the (adjusted) values.
        var got = new List<string>();
        using var rt = new RuntimeController<TrainState>(new RuntimeControllerOptions { OnDiagnostic = _ => { } });
        rt.Register<double>("one", (_, a) => got.Add($"{a}"), validate: a => a * 10);
        rt.Register<double, double>("two", (_, a, b) => got.Add($"{a} {b}"), validate: (a, b) => (b, a));
        rt.Register<double, double, string>("three", (_, a, b, c) => got.Add($"{a} {b} {c}"), validate: (a, b, c) => (a + 1, b + 1, c.ToUpperInvariant()));
        rt.RegisterOptions<Trainer.SaveOptions>("opts", (_, o) => got.Add(o.Label!), validate: o => new Trainer.SaveOptions { Label = o.Label + "!" });
        rt.Configure(_q.Dir);
        _q.AppendLine("""{"id":"1","path":"one","args":[2]}""");
        _q.AppendLine("""{"id":"2","path":"two","args":[1,2]}""");
        _q.AppendLine("""{"id":"3","path":"three","args":[1,2,"x"]}""");
        _q.AppendLine("""{"id":"4","path":"opts","kwargs":{"label":"best"}}""");

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Equal(["20", "2 1", "2 3 X", "best!"], got);
        var acks = _q.ReadAcks();
        Assert.All(acks, a => Assert.Equal("applied", a.GetProperty("status").GetString()));
        Assert.Equal("[20]", acks[0].GetProperty("args").GetRawText());
        Assert.Equal("[2,1]", acks[1].GetProperty("args").GetRawText());
        Assert.Equal("[2,3,\"X\"]", acks[2].GetProperty("args").GetRawText());
    }

    [Theory]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":5}""", "command args must be a list")]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":null}""", "command args must be a list")]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":[1],"kwargs":null}""", "command kwargs must be an object")]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":[1],"kwargs":[]}""", "command kwargs must be an object")]
    [InlineData("""{"id":"x","path":"model.dropout.p","op":"get"}""", "unsupported op: get")]
    [InlineData("""{"id":"x","path":"model.dropout.p","op":null}""", "unsupported op: null")]
    [InlineData("""{"id":"x","path":"nope"}""", "unknown path: nope")]
    [InlineData("""{"id":"x"}""", "unknown path: null")]
    [InlineData("""{"id":"x","path":null}""", "unknown path: null")]
    [InlineData("""{"id":"x","path":"nope","op":"get","args":{},"kwargs":1}""", "command args must be a list")]
    [InlineData("""{"id":"x","path":"nope","op":"get","kwargs":1}""", "command kwargs must be an object")]
    [InlineData("""{"id":"x","path":"nope","op":"get"}""", "unsupported op: get")]
    public void PollAndApply_ShapeChecks_RejectInTheOriginalsOrder(string line, string error)
    {
        var ack = One(line);

        Assert.Equal("rejected", ack.GetProperty("status").GetString());
        Assert.Equal(error, ack.GetProperty("error").GetString());
        Assert.Equal(["id", "ts", "path", "op", "status", "error"], TempQueueDirectory.Keys(ack));
        Assert.Equal("x", ack.GetProperty("id").GetString());
    }

    [Fact]
    public void PollAndApply_NullOp_IsEchoedAsNull()
    {
        var ack = One("""{"id":"x","path":"model.dropout.p","op":null}""");

        Assert.Equal(JsonValueKind.Null, ack.GetProperty("op").ValueKind);
        Assert.Equal("model.dropout.p", ack.GetProperty("path").GetString());
    }

    [Fact]
    public void PollAndApply_MissingPath_EchoesNullPath()
    {
        var ack = One("""{"id":"x"}""");

        Assert.Equal(JsonValueKind.Null, ack.GetProperty("path").ValueKind);
    }

    [Theory]
    [InlineData("""{"id":"x","path":"optimizer.lr.multiplier","args":[-1]}""", "multiplier must be > 0")]
    [InlineData("""{"id":"x","path":"optimizer.lr.multiplier","args":[1,2]}""", "optimizer.lr.multiplier expects exactly 1 positional arg, got 2")]
    [InlineData("""{"id":"x","path":"optimizer.lr.multiplier","args":[true]}""", "multiplier must be a number")]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":[1.5]}""", "dropout p must be in [0,1)")]
    [InlineData("""{"id":"x","path":"model.dropout.p","args":[]}""", "model.dropout.p expects exactly 1 positional arg, got 0")]
    public void PollAndApply_RefusedValue_IsFailedNotRejected(string line, string error)
    {
        var ack = One(line);

        Assert.Equal("failed", ack.GetProperty("status").GetString());
        Assert.Equal(error, ack.GetProperty("error").GetString());
        Assert.Equal(["id", "ts", "path", "op", "status", "error"], TempQueueDirectory.Keys(ack));
    }

    [Fact]
    public void PollAndApply_TypedControlWithUnknownKeyword_FailsNamingIt()
    {
        var ack = One("""{"id":"x","path":"model.dropout.p","args":[0.2],"kwargs":{"bogus":1}}""");

        Assert.Equal("failed", ack.GetProperty("status").GetString());
        Assert.Contains("'bogus'", ack.GetProperty("error").GetString());
    }

    [Fact]
    public void PollAndApply_WrongCountAndUnknownKeyword_ReportsTheCountFirst()
    {
        var ack = One("""{"id":"x","path":"model.dropout.p","args":[0.2,0.3],"kwargs":{"bogus":1}}""");

        Assert.Equal("model.dropout.p expects exactly 1 positional arg, got 2", ack.GetProperty("error").GetString());
    }

    [Fact]
    public void PollAndApply_TypedControlWithWrongType_FailsWithActionableMessage()
    {
        var ack = One("""{"id":"x","path":"model.dropout.p","args":["abc"]}""");

        Assert.Equal("failed", ack.GetProperty("status").GetString());
        Assert.Contains("must be a number", ack.GetProperty("error").GetString());
        Assert.Contains("\"abc\"", ack.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"id":"x","path":"save_ckpt"}""", "{}", "auto")]
    [InlineData("""{"id":"x","path":"save_ckpt","kwargs":{"label":"best"}}""", """{"label":"best"}""", "best")]
    [InlineData("""{"id":"x","path":"save_ckpt","kwargs":{"label":null}}""", """{"label":null}""", "auto")]
    public void PollAndApply_OptionsControl_EchoesOnlyWhatWasSent(string line, string kwargs, string label)
    {
        using var rt = Trainer.Create(_q.Dir);
        var state = new TrainState();
        _q.AppendLine(line);

        rt.PollAndApply(state, TimeSpan.Zero);

        var ack = _q.ReadAcks().Single();
        Assert.Equal(kwargs, ack.GetProperty("kwargs").GetRawText());
        Assert.Equal([label], state.Ckpts);
    }

    [Fact]
    public void PollAndApply_OptionsControlWithPositional_Fails()
    {
        var ack = One("""{"id":"x","path":"save_ckpt","args":[1]}""");

        Assert.Equal("save_ckpt takes no positional args", ack.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("\"x\"")]
    [InlineData("{not json")]
    [InlineData("{\"id\":\"x\",\"args\":[NaN]}")]
    [InlineData("{\"id\":\"x\",\"args\":[1e999]}")]
    [InlineData("{\"id\":\"x\",\"id\":\"y\"}")]
    [InlineData("{\"id\":\"x\",\"args\":[\"\\ud800\"]}")]
    [InlineData("{\"id\":\"x\",\"kwargs\":{\"\\ud800\":1}}")]
    public void PollAndApply_LineThatIsNotAUsableObject_IsRejectedAsInvalid(string line)
    {
        var acks = Run(line, """{"id":"after","path":"model.dropout.p","args":[0.3]}""");

        Assert.Equal(2, acks.Count);
        var ack = acks[0];
        Assert.Equal("", ack.GetProperty("path").GetString());
        Assert.Equal("invalid", ack.GetProperty("op").GetString());
        Assert.Equal("rejected", ack.GetProperty("status").GetString());
        Assert.StartsWith("unsupported op: invalid", ack.GetProperty("error").GetString());
        Assert.True(Guid.TryParse(ack.GetProperty("id").GetString(), out _));
        Assert.Equal(["id", "ts", "path", "op", "status", "error"], TempQueueDirectory.Keys(ack));
        Assert.Equal("applied", acks[1].GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_InvalidUtf8_IsRejectedAndNextLineApplied()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendBytes([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}', (byte)'\n']);
        _q.AppendLine("""{"id":"ok","path":"model.dropout.p","args":[0.3]}""");

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        var acks = _q.ReadAcks();
        Assert.Equal(["rejected", "applied"], acks.Select(a => a.GetProperty("status").GetString()));
    }

    [Fact]
    public void PollAndApply_BlankAndWhitespaceLines_AreSkippedWithoutAck()
    {
        var acks = Run("", "   ", "\t", """  {"id":"x","path":"model.dropout.p","args":[0.2]}  """);

        Assert.Single(acks);
        Assert.Equal("applied", acks[0].GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_CrLfLineEnds_AreAccepted()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendRaw("{\"id\":\"a\",\"path\":\"model.dropout.p\",\"args\":[0.2]}\r\n");

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Equal("applied", _q.ReadAcks().Single().GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_PartialLine_IsLeftUntilComplete()
    {
        using var rt = Trainer.Create(_q.Dir);
        var state = new TrainState();
        _q.AppendRaw("{\"id\":\"a\",\"path\":\"model.dro");

        Assert.Empty(rt.PollAndApply(state, TimeSpan.Zero));
        _q.AppendRaw("pout.p\",\"args\":[0.2]}\n");
        var acks = rt.PollAndApply(state, TimeSpan.Zero);

        Assert.Single(acks);
        Assert.Equal(AckStatus.Applied, acks[0].Status);
        Assert.Equal(0.2, state.Dropout);
    }

    [Fact]
    public void PollAndApply_LineSeparatorsInsideStrings_DoNotSplitLines()
    {
        var acks = Run(
            "{\"id\":\"a\u2028b\u0085c\",\"path\":\"save_ckpt\",\"kwargs\":{\"label\":\"x\u2029y\"}}",
            "{\"id\":\"lone\rcr\",\"path\":\"save_ckpt\"}",
            """{"id":"after","path":"save_ckpt"}""");

        Assert.Equal(3, acks.Count);
        Assert.Equal("a\u2028b\u0085c", acks[0].GetProperty("id").GetString());
        Assert.Equal("applied", acks[0].GetProperty("status").GetString());
        Assert.Equal("invalid", acks[1].GetProperty("op").GetString()); // a raw CR is a control character: invalid JSON, one line
        Assert.Equal("applied", acks[2].GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_NonAsciiText_StaysAsItWas()
    {
        var acks = Run("""{"id":"ü-1","path":"save_ckpt","kwargs":{"label":"模型"}}""");

        Assert.Equal("ü-1", acks[0].GetProperty("id").GetString());
        Assert.Contains("模型", File.ReadAllText(_q.Acks));
    }

    [Theory]
    [InlineData("""{"path":"model.dropout.p","args":[0.2]}""")]
    [InlineData("""{"id":null,"path":"model.dropout.p","args":[0.2]}""")]
    [InlineData("""{"id":"","path":"model.dropout.p","args":[0.2]}""")]
    public void PollAndApply_MissingNullOrEmptyId_GetsGeneratedUuidAndApplies(string line)
    {
        var ack = One(line);

        Assert.True(Guid.TryParse(ack.GetProperty("id").GetString(), out _));
        Assert.Equal(ack.GetProperty("id").GetString(), ack.GetProperty("id").GetString()!.ToLowerInvariant());
        Assert.Equal("applied", ack.GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_GeneratedId_IsTheSameForTheSameLineAfterRestart()
    {
        // Arrange: a line without an id after a 53-byte line, applied and acked by a first trainer that then stops
        // before its cursor is saved (as a kill would leave it), so a restarted trainer reads the file from its start.
        _q.AppendLine("""{"id":"first","path":"model.dropout.p","args":[0.3]}""");
        _q.AppendLine("""{"path":"optimizer.lr.multiplier","args":[0.5]}""");
        var before = new TrainState();
        using (var first = Trainer.Create(_q.Dir))
        {
            first.PollAndApply(before, TimeSpan.Zero);
        }

        File.Delete(_q.Cursor);

        // Act: a new trainer on the same queue directory.
        var after = new TrainState();
        using (var restarted = Trainer.Create(_q.Dir))
        {
            Assert.Empty(restarted.PollAndApply(after, TimeSpan.Zero));
        }

        // Assert: the id is the UUID of docs/design.md (SHA-256 of the offset as 8 little-endian bytes, then the
        // line; version 8, RFC 4122 variant), computed apart from the code; the restart found it acked and did
        // not apply the line again.
        Assert.Equal(["first", "13128ec7-3d28-8cc8-97a6-d082f8e753f1"], _q.ReadAcks().Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(5e-4, before.Lr, 12);
        Assert.Equal(2, before.Applied);
        Assert.Equal(0, after.Applied);
        Assert.Equal(1e-3, after.Lr);
    }

    [Theory]
    [InlineData("""{"id":5,"path":"model.dropout.p","args":[0.2]}""")]
    [InlineData("""{"id":{"a":1},"path":"model.dropout.p","args":[0.2]}""")]
    [InlineData("""{"id":true,"path":"model.dropout.p","args":[0.2]}""")]
    public void PollAndApply_IdOfWrongType_IsRejectedWithGeneratedId(string line)
    {
        var ack = One(line);

        Assert.Equal("rejected", ack.GetProperty("status").GetString());
        Assert.Contains("id must be a string", ack.GetProperty("error").GetString());
        Assert.True(Guid.TryParse(ack.GetProperty("id").GetString(), out _));
        Assert.Equal("model.dropout.p", ack.GetProperty("path").GetString());
    }

    [Fact]
    public void PollAndApply_RepeatedId_IsRejectedAsDuplicateCarryingTheId()
    {
        var state = new TrainState();
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"same","path":"optimizer.lr.multiplier","args":[2]}""");
        _q.AppendLine("""{"id":"same","path":"optimizer.lr.multiplier","args":[2]}""");

        rt.PollAndApply(state, TimeSpan.Zero);

        var acks = _q.ReadAcks();
        Assert.Equal("applied", acks[0].GetProperty("status").GetString());
        Assert.Equal("rejected", acks[1].GetProperty("status").GetString());
        Assert.Equal("duplicate id", acks[1].GetProperty("error").GetString());
        Assert.Equal("same", acks[1].GetProperty("id").GetString());
        Assert.Equal(2e-3, state.Lr, 12);
    }

    [Fact]
    public void PollAndApply_Bom_IsSkipped()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendBytes([0xEF, 0xBB, 0xBF, .. """{"id":"b","path":"model.dropout.p","args":[0.2]}"""u8.ToArray(), (byte)'\n']);

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Equal("applied", _q.ReadAcks().Single().GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_LineOverLimit_IsRejectedNamingTheLimitAndNextApplied()
    {
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxLineBytes = 4096, OnDiagnostic = _ => { } });
        _q.AppendLine("{\"id\":\"big\",\"path\":\"save_ckpt\",\"kwargs\":{\"label\":\"" + new string('x', 100_000) + "\"}}");
        _q.AppendLine("""{"id":"ok","path":"model.dropout.p","args":[0.2]}""");

        rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        var acks = _q.ReadAcks();
        Assert.Equal(2, acks.Count);
        Assert.Equal("invalid", acks[0].GetProperty("op").GetString());
        Assert.Equal("", acks[0].GetProperty("path").GetString());
        Assert.Contains("4096 bytes", acks[0].GetProperty("error").GetString());
        Assert.Equal("applied", acks[1].GetProperty("status").GetString());
    }

    [Fact]
    public void PollAndApply_AtStepWithoutStep_IsRejectedSayingWhy()
    {
        var ack = One("""{"id":"x","path":"model.dropout.p","args":[0.2],"at_step":5}""");

        Assert.Equal("rejected", ack.GetProperty("status").GetString());
        Assert.Contains("without a step", ack.GetProperty("error").GetString());
    }

    [Fact]
    public void PollAndApply_AtStep_HoldsOnlyThatCommandUntilTheStep()
    {
        using var rt = Trainer.Create(_q.Dir);
        var state = new TrainState();
        _q.AppendLine("""{"id":"later","path":"model.dropout.p","args":[0.5],"at_step":3}""");
        _q.AppendLine("""{"id":"now","path":"optimizer.lr.multiplier","args":[2]}""");

        var first = rt.PollAndApplyAtStep(state, step: 1);
        var second = rt.PollAndApplyAtStep(state, step: 2);
        var third = rt.PollAndApplyAtStep(state, step: 3);

        Assert.Equal(["now"], first.Select(a => a.Id));
        Assert.Empty(second);
        Assert.Equal(["later"], third.Select(a => a.Id));
        Assert.Equal(3, third[0].Step);
        Assert.Equal(0.5, state.Dropout);
        Assert.Equal(3, _q.ReadAcks()[1].GetProperty("step").GetInt64());
    }

    [Fact]
    public void PollAndApply_StepBased_PollsEveryNSteps()
    {
        using var rt = Trainer.Create(_q.Dir);
        var state = new TrainState();
        rt.PollAndApplyAtStep(state, step: 0, everySteps: 10);
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");

        Assert.Empty(rt.PollAndApplyAtStep(state, step: 9, everySteps: 10));
        Assert.Single(rt.PollAndApplyAtStep(state, step: 10, everySteps: 10));
    }

    [Fact]
    public void PollAndApply_TimeBased_FirstPollNotThrottledThenEveryInterval()
    {
        var time = new FakeTimeProvider();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = _ => { } });
        var state = new TrainState();
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");

        Assert.Single(rt.PollAndApply(state, everySeconds: 2.0));
        _q.AppendLine("""{"id":"b","path":"model.dropout.p","args":[0.3]}""");
        Assert.Empty(rt.PollAndApply(state, everySeconds: 2.0));
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Empty(rt.PollAndApply(state, everySeconds: 2.0));
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Single(rt.PollAndApply(state, everySeconds: 2.0));
    }

    /// <summary>A fake clock that counts how often it is read.</summary>
    private sealed class CountingClock : FakeTimeProvider
    {
        public int Reads { get; private set; }

        public override long GetTimestamp()
        {
            Reads++;
            return base.GetTimestamp();
        }
    }

    [Fact]
    public void PollAndApply_TimeBasedNotDue_ReadsNoClockUntilTheTimerFires()
    {
        var time = new CountingClock();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = _ => { } });
        var state = new TrainState();
        rt.PollAndApply(state, TimeSpan.FromSeconds(2));
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");
        var reads = time.Reads;

        for (var i = 0; i < 500; i++)
        {
            Assert.Empty(rt.PollAndApply(state, TimeSpan.FromSeconds(2)));
        }

        Assert.Equal(reads, time.Reads);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Single(rt.PollAndApply(state, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void PollAndApply_TimeBasedPeriodicClockCheck_DoesNotPushTheDuePollOut()
    {
        var time = new FakeTimeProvider();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = _ => { } });
        var state = new TrainState();
        rt.PollAndApply(state, TimeSpan.FromSeconds(2));
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");
        time.Advance(TimeSpan.FromSeconds(1.5));
        for (var i = 0; i < 2 * PollSchedule.ClockCheckEvery; i++)
        {
            Assert.Empty(rt.PollAndApply(state, TimeSpan.FromSeconds(2))); // includes clock checks, all not due
        }

        time.Advance(TimeSpan.FromSeconds(0.6));
        Assert.Single(rt.PollAndApply(state, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void PollAndApply_TimeBasedShortInterval_ComparesTheClockOnEachCall()
    {
        var time = new FakeTimeProvider();
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = time, OnDiagnostic = _ => { } });
        var state = new TrainState();
        rt.PollAndApply(state, TimeSpan.FromMilliseconds(5));
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");

        Assert.Empty(rt.PollAndApply(state, TimeSpan.FromMilliseconds(5)));
        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Single(rt.PollAndApply(state, TimeSpan.FromMilliseconds(5)));
    }

    [Fact]
    public void PollAndApply_TimeBasedBacklogLeftByTheCap_IsAppliedAtTheNextCalls()
    {
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxCommandsPerPoll = 2, TimeProvider = new FakeTimeProvider(), OnDiagnostic = _ => { } });
        for (var i = 0; i < 5; i++)
        {
            _q.AppendLine($$"""{"id":"c{{i}}","path":"model.dropout.p","args":[0.2]}""");
        }

        var state = new TrainState();
        Assert.Equal(["c0", "c1"], rt.PollAndApply(state, TimeSpan.FromHours(1)).Select(a => a.Id));
        Assert.Equal(["c2", "c3"], rt.PollAndApply(state, TimeSpan.FromHours(1)).Select(a => a.Id));
        Assert.Equal(["c4"], rt.PollAndApply(state, TimeSpan.FromHours(1)).Select(a => a.Id));
        _q.AppendLine("""{"id":"late","path":"model.dropout.p","args":[0.2]}""");
        Assert.Empty(rt.PollAndApply(state, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void PollAndApply_StepBasedBacklogLeftByTheCap_IsAppliedAtTheNextSteps()
    {
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxCommandsPerPoll = 2, OnDiagnostic = _ => { } });
        for (var i = 0; i < 3; i++)
        {
            _q.AppendLine($$"""{"id":"c{{i}}","path":"model.dropout.p","args":[0.2]}""");
        }

        var state = new TrainState();
        Assert.Equal(2, rt.PollAndApplyAtStep(state, step: 0, everySteps: 100).Count);
        Assert.Equal(["c2"], rt.PollAndApplyAtStep(state, step: 1, everySteps: 100).Select(a => a.Id));
        _q.AppendLine("""{"id":"late","path":"model.dropout.p","args":[0.2]}""");
        Assert.Empty(rt.PollAndApplyAtStep(state, step: 2, everySteps: 100));
    }

    [Fact]
    public void PollAndApply_DueWithNothingNew_AllocatesNothing()
    {
        // A fake clock that never moves: no controller.json write or identity check falls into the measurement.
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { TimeProvider = new FakeTimeProvider(), OnDiagnostic = _ => { } });
        var state = new TrainState();
        for (var step = 0; step < 10; step++)
        {
            rt.PollAndApplyAtStep(state, step);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var step = 10; step < 110; step++)
        {
            rt.PollAndApplyAtStep(state, step);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void PollAndApply_MaxCommandsPerPoll_LeavesTheRestForTheNextPoll()
    {
        using var rt = Trainer.Create(_q.Dir, new RuntimeControllerOptions { MaxCommandsPerPoll = 2, OnDiagnostic = _ => { } });
        for (var i = 0; i < 5; i++)
        {
            _q.AppendLine($$"""{"id":"c{{i}}","path":"model.dropout.p","args":[0.2]}""");
        }

        Assert.Equal(["c0", "c1"], rt.PollAndApply(new TrainState(), TimeSpan.Zero).Select(a => a.Id));
        Assert.Equal(["c2", "c3"], rt.PollAndApply(new TrainState(), TimeSpan.Zero).Select(a => a.Id));
        Assert.Equal(["c4"], rt.PollAndApply(new TrainState(), TimeSpan.Zero).Select(a => a.Id));
    }

    [Fact]
    public void PollAndApply_BeforeConfigure_Throws()
    {
        using var rt = Trainer.Create();

        var e = Assert.Throws<QueueConfigurationException>(() => rt.PollAndApply(new TrainState(), TimeSpan.Zero));
        Assert.Contains("Configure", e.Message);
    }

    [Fact]
    public void Configure_SameDirectoryTwice_IsIdempotentAndAnotherThrows()
    {
        using var rt = Trainer.Create(_q.Dir);

        rt.Configure(_q.Dir);
        Assert.Throws<QueueConfigurationException>(() => rt.Configure(_q.Dir + "-other"));
    }

    [Fact]
    public void Configure_AfterRegister_AppliesRegisteredControls()
    {
        using var rt = Trainer.Create();
        rt.Configure(_q.Dir);
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":[0.2]}""");

        Assert.Equal(AckStatus.Applied, rt.PollAndApply(new TrainState(), TimeSpan.Zero).Single().Status);
    }

    [Fact]
    public void Register_SameHandlerTwice_IsIdempotentAndDifferentHandlerThrows()
    {
        using var rt = new RuntimeController<TrainState>();
        Action<TrainState> handler = s => s.Applied++;

        rt.Register("x", handler);
        rt.Register("x", handler);
        Assert.Throws<ControlRegistrationException>(() => rt.Register("x", s => s.Lr = 0));
        rt.Register("x", s => s.Lr = 0, overwrite: true);
        Assert.Single(rt.ControlPaths);
    }

    [Fact]
    public void Register_SameLambdaWithOtherCapturedState_IsAConflict()
    {
        using var rt = new RuntimeController<TrainState>();
        Action<TrainState> Make(double lr) => s => s.Lr = lr;

        rt.Register("x", Make(1));

        Assert.Throws<ControlRegistrationException>(() => rt.Register("x", Make(2)));
    }

    [Fact]
    public void PollAndApply_ControlThatThrows_IsFailedAndLoopGoesOn()
    {
        using var rt = Trainer.Create(_q.Dir);
        rt.Register("boom", _ => throw new InvalidOperationException("kaput"));
        _q.AppendLine("""{"id":"a","path":"boom"}""");
        _q.AppendLine("""{"id":"b","path":"model.dropout.p","args":[0.2]}""");

        var acks = rt.PollAndApply(new TrainState(), TimeSpan.Zero);

        Assert.Equal(AckStatus.Failed, acks[0].Status);
        Assert.Equal("kaput", acks[0].Error);
        Assert.Equal(AckStatus.Applied, acks[1].Status);
    }

    [Fact]
    public void PollAndApply_ReturnedAck_MatchesTheWrittenLine()
    {
        using var rt = Trainer.Create(_q.Dir);
        _q.AppendLine("""{"id":"a","path":"model.dropout.p","args":["0.25"]}""");

        var ack = rt.PollAndApply(new TrainState(), TimeSpan.Zero).Single();

        Assert.Equal(0.25, ack.Args!.Value[0].GetDouble());
        Assert.Equal(File.ReadAllText(_q.Acks).TrimEnd('\n'), ack.ToString());
        Assert.Equal("model.dropout.p", ack.Path);
        Assert.Equal("set", ack.Op);
    }

    [Fact]
    public void WithOwnedProcessGroup_ControllerDisposed_ReleasesTheHoldItTook()
    {
        // Arrange: what UseMpi() leaves in the options (the group it made, and how a controller holds it).
        var group = new HeldGroup();
        var options = new RuntimeControllerOptions().WithOwnedProcessGroup(group, group.Hold);
        var rt = new RuntimeController<TrainState>(options);
        var whileAlive = (group.Holds, group.Releases);

        // Act
        rt.Dispose();

        // Assert
        Assert.Equal((1, 0), whileAlive);
        Assert.Equal((1, 1), (group.Holds, group.Releases));
    }

    [Fact]
    public void WithOwnedProcessGroup_ProcessGroupReplacedAfterwards_TakesNoHoldOnEither()
    {
        // Arrange: the user sets a group of their own after UseMpi(); neither is the controller's.
        var created = new HeldGroup();
        var theirs = new HeldGroup();
        var options = new RuntimeControllerOptions().WithOwnedProcessGroup(created, created.Hold);
        options.ProcessGroup = theirs;

        // Act
        new RuntimeController<TrainState>(options).Dispose();

        // Assert
        Assert.Equal((0, 0), (created.Holds, created.Releases));
        Assert.Equal((0, 0), (theirs.Holds, theirs.Releases));
    }

    /// <summary>A one-rank group that counts the holds controllers take on it and release.</summary>
    private sealed class HeldGroup : IProcessGroup
    {
        public int Rank => 0;

        public int Size => 1;

        public int Holds { get; private set; }

        public int Releases { get; private set; }

        public IDisposable Hold()
        {
            Holds++;
            return new Release(this);
        }

        public void Barrier()
        {
        }

        public void Broadcast(Span<byte> buffer)
        {
        }

        public void Gather(ReadOnlySpan<byte> send, Span<byte> receive) => send.CopyTo(receive);

        private sealed class Release(HeldGroup group) : IDisposable
        {
            public void Dispose() => group.Releases++;
        }
    }
}
