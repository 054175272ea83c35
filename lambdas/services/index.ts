/** The application's use cases; Lambda handlers and the local twin call these and nothing deeper. */
export { SYSTEM_ACTOR } from './audit-trail.ts';
export { type CastVoteDeps, type CastVoteInput, type CastVoteResult, castVote } from './cast-vote.ts';
export {
  denyBecause,
  type EvaluateRequestDeps,
  type EvaluateRequestInput,
  type EvaluateRequestResult,
  type EvaluateStepInput,
  evaluateRequest,
  evaluateStep,
} from './evaluate-request.ts';
export { type PublishDecisionDeps, type PublishDecisionInput, publishDecision } from './publish-decision.ts';
export {
  type RecordDecisionDeps,
  type RecordDecisionInput,
  type RecordDecisionResult,
  recordDecision,
  requestToRecord,
} from './record-decision.ts';
export {
  type RequestApprovalDeps,
  type RequestApprovalInput,
  type RequestApprovalResult,
  requestApproval,
} from './request-approval.ts';
export {
  type SendRemindersDeps,
  type SendRemindersResult,
  sendReminders,
} from './send-reminders.ts';
export { type Settled, settleVotes } from './settle-votes.ts';
