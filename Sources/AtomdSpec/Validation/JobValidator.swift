/// The checks that need the whole job: unique ids, the `needs` graph, and
/// every expression's references.
struct JobValidator {
    let job: Job

    func validate() -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let report = { (location: SourceLocation, message: String, hint: String?) in
            diagnostics.append(Diagnostic(file: job.file, location: location, message: message, hint: hint))
        }
        let index = StepIndex(job)
        for duplicate in index.duplicates {
            report(duplicate.location, "duplicate step id '\(duplicate.id)' (first used at line \(duplicate.first.line))",
                   "step ids must be unique in the whole job, finally and groups included")
        }
        GraphValidator(report: report).validate(job.steps + job.finally)
        let references = ReferenceChecker(job: job, index: index, report: report)
        let jobSite = ReferenceChecker.Site(stepID: nil, contexts: [.vars, .secrets, .run])
        for variable in job.env { references.check(variable.value, at: jobSite) }
        for step in job.steps + job.finally {
            checkReferences(step, references, retryGroups: [])
        }
        // Only on a job whose references hold: sizes follow them.
        if diagnostics.isEmpty { diagnostics += SizeChecker.check(job) }
        return diagnostics
    }

    /// `retryGroups`: the retrying groups around `step`, outermost first.
    private func checkReferences(_ step: Step, _ references: ReferenceChecker, retryGroups: [String]) {
        var base: Set<ReferenceChecker.Context> = [.vars, .env, .secrets, .steps, .run, .step]
        if !retryGroups.isEmpty { base.formUnion([.retry, .groups]) }
        var site = ReferenceChecker.Site(stepID: step.id, contexts: base)
        site.retryGroups = retryGroups
        if let condition = step.condition { references.check(condition, at: site) }
        for variable in step.env { references.check(variable.value, at: site) }
        for template in step.action.templates { references.check(template, at: site) }

        var outputsSite = site
        outputsSite.contexts.insert(.outputs)
        if case .http = step.action { outputsSite.contexts.insert(.response) }
        outputsSite.readsOwnChildren = step.group != nil
        // A group's outputs are computed inside the attempt that succeeded.
        if step.group?.retry != nil {
            outputsSite.contexts.formUnion([.retry, .groups])
            outputsSite.retryGroups.append(step.id)
        }
        for output in step.outputs { references.check(output.value, at: outputsSite) }

        var auxiliarySite = site
        auxiliarySite.contexts.insert(.outputs)
        if !step.outputs.isEmpty { auxiliarySite.ownOutputs = step.outputs.map(\.name) }
        if step.state != nil { auxiliarySite.contexts.insert(.state) }
        if case .plugin = step.action { auxiliarySite.contexts.insert(.state) }
        if case .action(let revert) = step.revert {
            for template in revert.action.templates { references.check(template, at: auxiliarySite) }
        }
        if let check = step.check {
            for template in check.action.templates { references.check(template, at: auxiliarySite) }
        }
        // Probed before execute too, so it reads what the step's action reads.
        if let state = step.state {
            for template in state.action.templates { references.check(template, at: site) }
        }
        // `until` is evaluated by the http atom on each response, with the job's vars.
        let untilSite = ReferenceChecker.Site(stepID: step.id, contexts: [.vars, .response], place: "'until'")
        for case .http(let http) in step.actions.map(\.action) {
            if let until = http.until { references.check(until, at: untilSite) }
            if let pages = http.paginate {
                var pageSite = untilSite
                pageSite.place = "'paginate'"
                references.check(pages.items, at: pageSite)
                references.check(pages.next, at: pageSite)
            }
        }
        // A check's `present`/`absent` read its response besides what the check itself may read.
        if case .http(let http)? = step.check?.action {
            var answerSite = auxiliarySite
            answerSite.contexts.insert(.response)
            answerSite.place = "a check's 'present'/'absent'"
            for expression in [http.presentWhen, http.absentWhen].compactMap({ $0 }) { references.check(expression, at: answerSite) }
        }

        guard let group = step.group else { return }
        if let retry = group.retry, case .forEachExpression(let items) = retry.strategy {
            references.check(items, at: site)
        }
        let inner = group.retry == nil ? retryGroups : retryGroups + [step.id]
        for child in group.steps {
            checkReferences(child, references, retryGroups: inner)
        }
    }
}
