"""The demo chronologies: invented events per pupil, written as templates.

Placeholders: {child} is the pupil's forename, {child_full} the full name; {peer}, {peer2}
and {sibling} (and their *_full forms) are other demo pupils; {parent} is a parent's name;
{staff:KEY} is a member of staff. Categories are paths in the Bretherton preset tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DocumentSpec:
    """A vault document attached to an event."""

    kind: str  # "text" or "scan"
    filename: str
    title: str
    facts: tuple[tuple[str, str], ...]
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    """One incident in a pupil's chronology."""

    at: float  # Position in the pupil's school years: 0 the first day, 1 the latest.
    categories: tuple[str, ...]
    narrative: str
    author: str
    linked: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    body_map: bool = False
    actions: tuple[tuple[str, str], ...] = ()
    status: str = "closed"
    edit: tuple[str, str] | None = None  # (field, previous value) of a later correction
    document: DocumentSpec | None = None


@dataclass(frozen=True)
class Profile:
    """A pupil's story: year group, links to other pupils by index, events, and leaving."""

    year: int
    links: dict[str, int] = field(default_factory=dict)
    leaving: bool = False
    events: tuple[Event, ...] = ()


NEGLECT = Profile(
    year=5,
    links={"sibling": 9, "peer": 3},
    leaving=True,
    events=(
        Event(
            0.35,
            ("Wellbeing concern/Diet related",),
            "{child} said she had not had breakfast and asked for toast twice before 10am. "
            "Her uniform was the same as the previous three days and had food stains.",
            "teacher-y4",
            actions=(("dsl", "Breakfast club place offered to {parent}."),),
        ),
        Event(
            0.45,
            ("Safeguarding/Neglect related",),
            "{child} arrived without a coat in freezing weather and told me 'mum was asleep, "
            "I got {sibling} ready'. {sibling_full} was also without a coat.",
            "ta",
            linked=("sibling",),
            agencies=("MASH",),
            actions=(
                ("dsl", "Called MASH for advice; referral made to children's social care."),
                ("dsl", "Spoke to {parent} at the gate; coats provided from lost property."),
            ),
            edit=("narrative", "{child} arrived without a coat. She said mum was asleep."),
        ),
        Event(
            0.55,
            ("Child protection plan/Child protection conference",),
            "Initial child protection conference held. {child} and {sibling} made subject to "
            "child protection plans under the category of neglect.",
            "dsl",
            linked=("sibling",),
            agencies=("Children's Social Care", "School Nurse"),
            document=DocumentSpec(
                "text",
                "ICPC minutes {date}.pdf",
                "Initial child protection conference: minutes",
                (
                    ("Child", "{child_full}"),
                    ("Date", "{date}"),
                    ("Chair", "Independent reviewing officer"),
                ),
                (
                    "Attendees: {staff:dsl} (school), social worker, school nurse, {parent}.",
                    "Concerns: home conditions, missed health appointments, {child} and her "
                    "brother {sibling_full} often arriving hungry. {child} told the social worker "
                    "that she looks after {sibling} in the mornings.",
                    "Decision: both children to be subject to a child protection plan (neglect). "
                    "Core group to meet within ten working days.",
                ),
            ),
        ),
        Event(
            0.62,
            ("Child protection plan/Core group meeting",),
            "First core group meeting. Home conditions improving; food bank referral in place. "
            "{child} attending breakfast club daily.",
            "dsl",
            agencies=("Children's Social Care",),
            document=DocumentSpec(
                "text",
                "Core group minutes {date}.pdf",
                "Core group meeting: minutes",
                (("Child", "{child_full}"), ("Date", "{date}")),
                (
                    "Progress against the plan was reviewed. Breakfast club attendance 100%.",
                    "Class teacher reports {child} is more settled. She sits with {peer_full} at "
                    "lunch and they play together most days.",
                    "Actions: school nurse to complete a health assessment; {parent} to attend "
                    "the dental appointment for {sibling}.",
                ),
            ),
        ),
        Event(
            0.75,
            ("Attendance/Punctuality",),
            "{child} late for the eleventh time this half term (arrived 9:25).",
            "attendance",
            status="closed",
            actions=(("attendance", "Letter sent home about punctuality."),),
        ),
        Event(
            0.9,
            ("Medical/Hospital visit",),
            "{parent} reported {child} attended A&E at the weekend after a fall at home; "
            "bruise to left forearm seen and recorded on body map.",
            "ddsl",
            body_map=True,
            agencies=("Children's Social Care",),
            status="open",
            actions=(("ddsl", "Information shared with the social worker the same day."),),
        ),
    ),
)

BULLIED = Profile(
    year=6,
    links={"peer": 2, "peer2": 10},
    leaving=True,
    events=(
        Event(
            0.5,
            ("Bullying Allegation/Words",),
            "{child} told me at lunchtime that {peer} and {peer2} have been calling him names "
            "about his family's religion and saying he smells. He was tearful.",
            "teacher-y6",
            linked=("peer", "peer2"),
            actions=(
                ("teacher-y6", "Spoke to {peer} and {peer2} separately; both denied it."),
                ("mentor", "Check-ins with {child} twice a week."),
            ),
        ),
        Event(
            0.62,
            ("Bullying Allegation/Online",),
            "{parent} showed me messages sent to {child} on a gaming platform by {peer_full}, "
            "telling him nobody wants him in the class.",
            "ddsl",
            linked=("peer",),
            actions=(("ddsl", "Screenshots saved; {peer}'s parents invited to a meeting."),),
        ),
        Event(
            0.7,
            ("Child on Child Abuse/Confirmed Racial/Religious",),
            "Following investigation the DSL confirmed that {child} has been subjected to repeated "
            "religious abuse by {peer_full}. Recorded as a racist incident.",
            "dsl",
            linked=("peer",),
            edit=("categories", "Behaviour"),
            document=DocumentSpec(
                "text",
                "Meeting notes {date}.pdf",
                "Meeting with parents: notes",
                (
                    ("Pupil", "{child_full}"),
                    ("Date", "{date}"),
                    ("Present", "{staff:dsl}, {parent}"),
                ),
                (
                    "We discussed the messages sent to {child} by {peer_full} and the comments "
                    "made in class by {peer2_full}.",
                    "School will move {peer} to another table, supervise the lunchtime area and "
                    "report the incident as a racist incident to the local authority.",
                    "{parent} asked that {child}'s new school is told about this.",
                ),
            ),
        ),
        Event(
            0.8,
            ("Communication with home/Parent phone call",),
            "{parent} phoned to say {child} is happier and has joined the football club.",
            "office",
        ),
        Event(
            0.95,
            ("Voice of child",),
            "{child} said he is worried that {peer} will be going to the same secondary school.",
            "mentor",
            linked=("peer",),
            status="open",
        ),
    ),
)

BULLY = Profile(
    year=6,
    links={"peer": 1, "peer2": 11},
    events=(
        Event(
            0.4,
            ("Behaviour",),
            "{child} threw a chair in the classroom when asked to finish his work. The class was "
            "evacuated. No one was hurt.",
            "teacher-y6",
            actions=(("dsl", "Behaviour plan started; {parent} informed."),),
        ),
        Event(
            0.55,
            ("Positive handling",),
            "{child} kicked {peer2} in the playground and would not stop. Two staff used a "
            "guided escort to the quiet room (about 2 minutes). {child} calmed after 10 minutes.",
            "mentor",
            linked=("peer2",),
            body_map=True,
            actions=(("dsl", "Positive handling form completed; {parent} phoned the same day."),),
        ),
        Event(
            0.7,
            ("Safeguarding/Suspension",),
            "One-day suspension for repeated racist comments towards {peer_full}. "
            "DSL considered safeguarding risks: none identified at home.",
            "dsl",
            linked=("peer",),
            actions=(("dsl", "Reintegration meeting held with {parent}."),),
        ),
        Event(
            0.85,
            ("Pastoral interventions",),
            "{child} attended six anger-management sessions and says he uses the 'stop and "
            "breathe' card.",
            "mentor",
        ),
    ),
)

SEN = Profile(
    year=3,
    links={"peer": 4},
    events=(
        Event(
            0.3,
            ("Special Educational Needs/Observations",),
            "{child} finds it hard to follow two-step instructions and covers his ears during "
            "assemblies.",
            "senco",
        ),
        Event(
            0.5,
            ("Special Educational Needs/External agency",),
            "Referral made to speech and language therapy and the educational psychologist.",
            "senco",
            agencies=("Speech and Language Therapy", "Educational Psychology"),
            document=DocumentSpec(
                "text",
                "Educational psychologist report.pdf",
                "Educational psychology report",
                (("Child", "{child_full}"), ("Date of assessment", "{date}")),
                (
                    "{child} was observed in class and at play. He works best with a visual "
                    "timetable and a quiet space. He plays alongside {peer_full} and copies her "
                    "when unsure.",
                    "Recommendations: now-and-next board, ear defenders for assemblies, "
                    "short movement breaks, pre-teaching of vocabulary.",
                ),
            ),
        ),
        Event(
            0.7,
            ("Special Educational Needs/IEP",),
            "SEN support plan reviewed with {parent}. Targets updated.",
            "senco",
            document=DocumentSpec(
                "text",
                "SEN support plan.pdf",
                "SEN support plan",
                (("Pupil", "{child_full}"), ("Review date", "{date}"), ("SENCO", "{staff:senco}")),
                (
                    "Target 1: follow a two-step instruction with a visual prompt.",
                    "Target 2: use the calm area independently when overwhelmed.",
                    "Provision: daily 10-minute language group; ear defenders; visual timetable.",
                ),
            ),
        ),
        Event(
            0.9,
            ("Special Educational Needs/School EHCP",),
            "School has requested an EHC needs assessment from the local authority.",
            "senco",
            status="open",
        ),
    ),
)

MEDICAL = Profile(
    year=2,
    events=(
        Event(
            0.2,
            ("Medical/Epipen /asthma",),
            "{parent} brought in two adrenaline auto-injectors and a blue inhaler. Severe nut "
            "allergy confirmed by the GP letter.",
            "office",
            document=DocumentSpec(
                "text",
                "Individual healthcare plan.pdf",
                "Individual healthcare plan",
                (
                    ("Pupil", "{child_full}"),
                    ("Condition", "Severe peanut allergy; asthma"),
                    ("Agreed", "{date}"),
                ),
                (
                    "Symptoms of a reaction: swelling of lips, wheeze, hives.",
                    "Action: give the auto-injector in the outer thigh, call 999, then call "
                    "{parent}.",
                    "Medication is kept in the red bag in class and goes on every trip.",
                ),
            ),
        ),
        Event(
            0.6,
            ("Medical/Accident / injury in school",),
            "{child} fell from the climbing frame and bumped her head. Cold compress applied; "
            "head injury letter sent home.",
            "ta",
            body_map=True,
        ),
        Event(
            0.85,
            ("Medical/Care plan",),
            "Healthcare plan reviewed with the school nurse; no changes.",
            "office",
            agencies=("School Nurse",),
        ),
    ),
)

ATTENDANCE = Profile(
    year=4,
    leaving=True,
    events=(
        Event(
            0.3,
            ("Attendance/Internal Monitoring",),
            "{child}'s attendance is 86% this term. First letter sent.",
            "attendance",
            document=DocumentSpec(
                "text",
                "Attendance letter.pdf",
                "Letter about attendance",
                (("To", "{parent}"), ("About", "{child_full}"), ("Date", "{date}")),
                (
                    "{child}'s attendance this term is 86%, below our target of 96%.",
                    "Please contact {staff:attendance} to arrange a meeting so that we can "
                    "support {child} to attend every day.",
                ),
            ),
        ),
        Event(
            0.5,
            ("Attendance/Parental Contract Offered",),
            "Meeting with {parent}: attendance contract offered and signed. Walking bus place "
            "arranged.",
            "attendance",
            agencies=("Attendance Support Team",),
        ),
        Event(
            0.7,
            ("Attendance/Legal Action",),
            "Attendance remains below 80%. Referral to the local authority for a penalty notice.",
            "attendance",
            agencies=("Attendance Support Team",),
            edit=("status", "open"),
        ),
        Event(
            0.9,
            ("Attendance/Punctuality",),
            "{child} late on four days this week; says she has to wait for her mum's shift to end.",
            "attendance",
            status="open",
        ),
    ),
)

DOMESTIC_ABUSE = Profile(
    year=5,
    links={"peer": 7},
    leaving=True,
    events=(
        Event(
            0.4,
            ("Safeguarding/Encompass alert",),
            "Operation Encompass notification received: police attended a domestic incident at "
            "{child}'s home last night. {child} was present.",
            "dsl",
            agencies=("Police",),
            actions=(("dsl", "Class teacher informed to offer a quiet check-in."),),
            document=DocumentSpec(
                "scan",
                "Police notification (scan).pdf",
                "Operation Encompass notification",
                (("Child", "{child_full}"), ("Date", "{date}")),
                (
                    "Police attended a domestic incident at the home address.",
                    "The child was present and witnessed shouting.",
                    "No injuries to the child were reported.",
                    "Officer: PC 4471.",
                ),
            ),
        ),
        Event(
            0.5,
            ("Safeguarding/Domestic violence",),
            "{child} told me 'daddy hit mummy and broke the telly'. Said to me during reading. "
            "She was calm and wanted to carry on reading with {peer}.",
            "teacher-y4",
            linked=("peer",),
            agencies=("MASH",),
            actions=(("dsl", "Referral to MASH; accepted for assessment."),),
        ),
        Event(
            0.6,
            ("Child in Need/CIN plan",),
            "{child} is now subject to a Child in Need plan.",
            "dsl",
            agencies=("Children's Social Care",),
        ),
        Event(
            0.75,
            ("Child in Need/CIN meeting",),
            "CIN review meeting. Father has moved out; mother engaging with the domestic abuse "
            "service.",
            "dsl",
            agencies=("Children's Social Care", "Domestic Abuse Service"),
            document=DocumentSpec(
                "text",
                "CIN meeting minutes {date}.pdf",
                "Child in Need review: minutes",
                (("Child", "{child_full}"), ("Date", "{date}")),
                (
                    "Present: social worker, {staff:dsl}, {parent}, domestic abuse worker.",
                    "{child} is attending well. She has a close friendship with {peer_full}, and "
                    "the two girls attend the after-school art club.",
                    "Plan: continue weekly check-ins at school; review in three months.",
                ),
            ),
        ),
    ),
)

EARLY_HELP = Profile(
    year=3,
    events=(
        Event(
            0.4,
            ("Home related issues/Separation",),
            "{parent} told me she and {child}'s father have separated; {child} will stay with "
            "dad at weekends.",
            "teacher-y2",
        ),
        Event(
            0.55,
            ("Wellbeing concern/Emotional wellbeing",),
            "{child} cried at the start of each day this week and said he has tummy aches.",
            "teacher-y2",
            actions=(("mentor", "Added to the nurture group."),),
        ),
        Event(
            0.7,
            ("Early Help/Early help. CAF assessment",),
            "Early help assessment completed with {parent}.",
            "ddsl",
            agencies=("Early Help",),
        ),
        Event(
            0.85,
            ("Early Help/TAF",),
            "Team around the family meeting: family support worker allocated.",
            "ddsl",
            agencies=("Early Help",),
            status="open",
        ),
    ),
)

LOOKED_AFTER = Profile(
    year=4,
    events=(
        Event(
            0.3,
            ("LAC/CLA/CLA",),
            "{child} is looked after by the local authority and lives with foster carers.",
            "dsl",
            agencies=("Virtual School", "Children's Social Care"),
        ),
        Event(
            0.6,
            ("LAC/CLA/PEP meeting",),
            "PEP meeting held; pupil premium plus funding agreed for reading tuition.",
            "dsl",
            agencies=("Virtual School",),
            document=DocumentSpec(
                "text",
                "PEP summary {date}.pdf",
                "Personal education plan: summary",
                (
                    ("Child", "{child_full}"),
                    ("Date", "{date}"),
                    ("Designated teacher", "{staff:dsl}"),
                ),
                (
                    "{child} is making good progress in maths and needs support with reading.",
                    "Targets: read daily with an adult; join the lunchtime chess club.",
                ),
            ),
        ),
        Event(
            0.8,
            ("LAC/CLA/CLA review",),
            "CLA review attended by the designated teacher.",
            "dsl",
            agencies=("Children's Social Care",),
        ),
    ),
)

SIBLING = Profile(
    year=1,
    links={"sibling": 0},
    events=(
        Event(
            0.4,
            ("Home related issues/Sibling",),
            "{child}'s sister {sibling} told staff that she gets {child} ready for school.",
            "ta",
            linked=("sibling",),
        ),
        Event(
            0.6,
            ("Safeguarding/Neglect related",),
            "{child} made subject to a child protection plan (neglect) together with his sister "
            "{sibling_full}.",
            "dsl",
            linked=("sibling",),
            agencies=("Children's Social Care",),
        ),
        Event(
            0.85,
            ("Medical/General medical/ accident",),
            "Dental pain reported; {parent} given the number for the emergency dentist.",
            "office",
        ),
    ),
)

LOW_LEVEL = Profile(
    year=6,
    links={"peer": 3},
    events=(
        Event(
            0.5,
            ("Friendship / relationship and social issues/In class",),
            "{child} and {peer} fell out over a group project; resolved with a restorative chat.",
            "teacher-y6",
            linked=("peer",),
        ),
        Event(
            0.7,
            ("Communication with home/Parent email",),
            "{parent} emailed asking for homework to be sent home while {child} was ill.",
            "office",
        ),
        Event(
            0.9,
            ("Online safety",),
            "{child} says he plays an online game rated 18. Online safety leaflet sent home.",
            "teacher-y6",
        ),
    ),
)

ONLINE_HARM = Profile(
    year=6,
    links={"peer": 2},
    events=(
        Event(
            0.6,
            ("Child on Child Abuse/Confirmed Cyberbullying online abuse",),
            "{child} showed me a group chat where {peer_full} shared an edited photo of her with "
            "unkind comments. About 15 children were in the chat.",
            "ddsl",
            linked=("peer",),
            agencies=("Police",),
            actions=(
                ("ddsl", "Police schools officer consulted; images deleted by parents."),
                ("dsl", "Both families met separately."),
            ),
        ),
        Event(
            0.8,
            ("Voice of child",),
            "{child} said she does not want to use her phone any more and feels everyone is "
            "laughing at her.",
            "mentor",
            status="open",
        ),
    ),
)

PROFILES = (
    NEGLECT,
    BULLIED,
    BULLY,
    SEN,
    MEDICAL,
    ATTENDANCE,
    DOMESTIC_ABUSE,
    EARLY_HELP,
    LOOKED_AFTER,
    SIBLING,
    LOW_LEVEL,
    ONLINE_HARM,
)
# The sex of each pupil, so that generated forenames match the pronouns in the stories.
SEXES = ("F", "M", "M", "M", "F", "F", "F", "M", "M", "M", "M", "F")
