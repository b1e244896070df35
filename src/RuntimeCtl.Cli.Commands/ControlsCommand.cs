using System.Text;

namespace RuntimeCtl.Cli;

/// <summary><c>runtimectl controls [--json]</c>: the trainer's registered controls, from its <c>controller.json</c> (with <c>--url</c>, as the dashboard serves it).</summary>
internal static class ControlsCommand
{
    public static int Run(ControlsRequest request, CliContext context)
    {
        if (request.Remote is { } endpoint)
        {
            using var remote = context.Connect(endpoint);
            var read = remote.ReadStatus(0);
            var missing = read.Status.ControllerProblem is { } remoteProblem
                ? $"cannot list the controls: {remoteProblem}."
                : $"there is no controller.json in '{read.QueueDirectory}' on the dashboard's machine ({endpoint.Label}), so the controls are unknown: no trainer has started on this queue yet, or it is one that does not write the file (such as the original Python runtimectl).";
            return Show(request, read.QueueDirectory, read.QueueDirectory, read.Status.Controller, read.Now, missing, context);
        }

        if (QueueFiles.ForeignOwnerWarning(request.QueueDirectory) is { } foreign)
        {
            context.Note(foreign + ".");
        }

        var controller = ControllerSnapshot.TryRead(Path.Combine(request.QueueDirectory, QueueFiles.Controller), out var problem);
        var why = problem is not null
            ? $"cannot list the controls: {problem}."
            : !Directory.Exists(request.QueueDirectory)
                ? CliGrammar.NoQueueDirectory(request.QueueDirectory)
                : $"there is no controller.json in '{request.QueueDirectory}', so the controls are unknown: no trainer has started on this queue yet, or it is one that does not write the file (such as the original Python runtimectl).";
        return Show(request, request.QueueDirectory, Path.GetFullPath(request.QueueDirectory), controller, context.Time.GetUtcNow(), why, context);
    }

    /// <summary>The controls as JSON (piped, or asked for) or a table; without a controller, <paramref name="missing"/> on stderr.</summary>
    private static int Show(ControlsRequest request, string queueLabel, string fullPath, ControllerSnapshot? controller, DateTimeOffset now, string missing, CliContext context)
    {
        var json = request.Json || !context.StdoutIsTerminal;
        if (controller is null)
        {
            if (json)
            {
                WriteJson(queueLabel, null, now, context.Stdout);
            }

            context.Note(missing);
            return ExitCodes.Error;
        }

        if (json)
        {
            WriteJson(queueLabel, controller, now, context.Stdout);
            return ExitCodes.Success;
        }

        var output = context.Stdout;
        output.WriteLine($"Queue     {fullPath}");
        output.WriteLine($"Trainer   {TrainerReport.Describe(controller, now)}");
        output.WriteLine();
        if (controller.Controls.Count == 0)
        {
            output.WriteLine("No controls registered.");
            return ExitCodes.Success;
        }

        var table = new TextTable(("PATH", 48), ("ARGUMENTS", 48), ("VALUE", 32), ("DESCRIPTION", 80));
        foreach (var control in controller.Controls)
        {
            table.Add(control.Path, Arguments(control), control.Value is { } value ? JsonOutput.ToText(value) : "-", control.Description ?? string.Empty);
        }

        table.WriteTo(output);
        return ExitCodes.Success;
    }

    private static void WriteJson(string queueLabel, ControllerSnapshot? controller, DateTimeOffset now, TextWriter output) =>
        JsonOutput.WriteLine(output, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue_dir"u8, queueLabel);
            TrainerReport.Write(writer, controller, now);
            writer.WriteStartArray("controls"u8);
            foreach (var control in controller?.Controls ?? [])
            {
                // As the trainer wrote it: fields this version does not know pass through.
                control.Json.WriteTo(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    /// <summary>The parameters as a person types them: <c>mult:number</c>, optional ones in brackets, keywords as <c>name=type</c>.</summary>
    private static string Arguments(ControlSnapshot control)
    {
        var text = new StringBuilder();
        foreach (var p in control.Parameters)
        {
            var one = p.Keyword ? $"{p.Name}={p.Type}" : $"{p.Name}:{p.Type}";
            text.Append(text.Length > 0 ? " " : string.Empty).Append(p.Required ? one : $"[{one}]");
        }

        return text.ToString();
    }
}
