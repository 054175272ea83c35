/**
 * The controls the evidence report speaks to, each mapped to the report sections that show it
 * operated, with a one-line rationale an auditor can check against the control's text.
 */
export const EvidenceSection = {
  decisions: 'decisions',
  receipts: 'receipts',
  refusals: 'refusals',
  unapprovedCalls: 'unapproved-calls',
  breakGlass: 'break-glass',
  classification: 'classification',
  verification: 'archive-verification',
  charts: 'charts',
} as const;
export type EvidenceSection = (typeof EvidenceSection)[keyof typeof EvidenceSection];

export interface Control {
  readonly framework: 'SOC 2' | 'ISO 27001:2022' | 'NIST 800-53';
  readonly id: string;
  readonly title: string;
  readonly evidence: readonly EvidenceSection[];
  readonly rationale: string;
}

const S = EvidenceSection;

export const CONTROLS: readonly Control[] = [
  {
    framework: 'SOC 2',
    id: 'CC6.1',
    title: 'Logical access security',
    evidence: [S.decisions, S.classification],
    rationale:
      'Every privileged action an agent asked for was evaluated against the Cedar policies named beside it before it could run.',
  },
  {
    framework: 'SOC 2',
    id: 'CC6.3',
    title: 'Role-based access, least privilege and segregation of duties',
    evidence: [S.decisions, S.refusals],
    rationale:
      'Approvals came from eligible reviewers only; self-approval and ineligible votes were refused and recorded.',
  },
  {
    framework: 'SOC 2',
    id: 'CC7.2',
    title: 'Monitoring for anomalies',
    evidence: [S.unapprovedCalls, S.breakGlass],
    rationale:
      'Privileged calls no approval covered and break-glass uses were detected from CloudTrail and each was reviewed after the fact.',
  },
  {
    framework: 'SOC 2',
    id: 'CC8.1',
    title: 'Authorized changes',
    evidence: [S.decisions, S.receipts, S.charts],
    rationale:
      'Each change was decided by policy or approvers before it ran, with a signed receipt the agent had to present.',
  },
  {
    framework: 'ISO 27001:2022',
    id: 'A.5.15',
    title: 'Access control',
    evidence: [S.decisions],
    rationale: 'Access to privileged actions followed written policies, decision by decision.',
  },
  {
    framework: 'ISO 27001:2022',
    id: 'A.8.2',
    title: 'Privileged access rights',
    evidence: [S.decisions, S.breakGlass, S.unapprovedCalls],
    rationale:
      'Privileged actions needed an approval or a reviewed break-glass; calls outside that were flagged and reviewed.',
  },
  {
    framework: 'ISO 27001:2022',
    id: 'A.8.15',
    title: 'Logging',
    evidence: [S.verification],
    rationale:
      'Every fact of every request is archived in an Object Lock bucket under a signed digest chain, verified for this report.',
  },
  {
    framework: 'ISO 27001:2022',
    id: 'A.8.32',
    title: 'Change management',
    evidence: [S.decisions, S.receipts, S.charts],
    rationale: 'Changes ran only with a recorded decision, its approvers and a verifiable receipt.',
  },
  {
    framework: 'NIST 800-53',
    id: 'AC-5',
    title: 'Separation of duties',
    evidence: [S.refusals],
    rationale: 'Requesters (agents and the humans they act for) could not approve their own requests.',
  },
  {
    framework: 'NIST 800-53',
    id: 'AC-6',
    title: 'Least privilege',
    evidence: [S.unapprovedCalls, S.classification],
    rationale:
      'Privileged calls were reconciled against approvals, and the sensitivity of the data touched informed each policy decision.',
  },
  {
    framework: 'NIST 800-53',
    id: 'AU-9',
    title: 'Protection of audit information',
    evidence: [S.verification],
    rationale:
      'The archive verifier found every archived object unchanged and every digest in its signed chain (or names what it found).',
  },
  {
    framework: 'NIST 800-53',
    id: 'AU-10',
    title: 'Non-repudiation',
    evidence: [S.receipts, S.verification],
    rationale: 'Decisions are signed receipts verified against the published JWKS; digests are signed too.',
  },
  {
    framework: 'NIST 800-53',
    id: 'CM-3',
    title: 'Configuration change control',
    evidence: [S.decisions, S.refusals],
    rationale: 'Changes were approved by the groups policy requires, with refused attempts on record.',
  },
];

export const SECTION_TITLES: Record<EvidenceSection, string> = {
  decisions: 'Decisions',
  receipts: 'Receipts',
  refusals: 'Refused votes',
  'unapproved-calls': 'Unapproved privileged calls',
  'break-glass': 'Break-glass uses',
  classification: 'Classification of the data touched',
  'archive-verification': 'Archive verification',
  charts: 'Charts',
};
