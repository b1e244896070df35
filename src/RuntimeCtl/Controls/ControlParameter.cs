namespace RuntimeCtl;

/// <summary>One parameter of a control, as listed in <c>controller.json</c> and by <c>runtimectl controls</c>.</summary>
/// <param name="Name">The parameter's name (a keyword argument's key, or a positional parameter's name).</param>
/// <param name="Type">The JSON type: <c>number</c>, <c>integer</c>, <c>string</c>, <c>boolean</c>, <c>object</c>, <c>array</c> or <c>any</c>.</param>
/// <param name="Required">Whether a command must give it.</param>
/// <param name="Keyword">Whether it is given as a keyword argument (in <c>kwargs</c>) rather than positionally.</param>
public sealed record ControlParameter(string Name, string Type, bool Required, bool Keyword = false);
