"""Prompts for query expansion: one builder per strategy, each zero-shot (an instruction only) or
few-shot (an instruction and worked examples).

The default model is a *base* model with no chat template, so every prompt is a completion prompt that
ends where the model's answer begins; an instruction-tuned model gets the same text as a chat message
(see llm/model.py). Short labelled lines ("German: ...") work better than prose with small models, and the
paper this follows found elaborate prompts add little. The examples were written for this project (none
comes from a benchmark) and exist in every language of EXAMPLE_QUESTIONS; a language without examples
falls back to the zero-shot prompt.

Bump PROMPT_VERSION whenever a prompt's text changes: it is part of the expansion cache's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..options import Choice

PROMPT_VERSION = 2


class Shots(Choice):
    """Whether a prompt shows the model worked examples ("few") or none ("zero"); "auto" (for the
    expander) picks by the query's length."""

    AUTO = "auto"
    ZERO = "zero"
    FEW = "few"


class Strategy(Choice):
    """One expansion strategy; several run together as "a+b" (`expansion.parse_strategy`)."""

    KEYWORDS = "keywords"
    QUERY2DOC = "query2doc"
    HYDE = "hyde"
    TRANSLATE = "translate"
    EXPAND_TRANSLATE = "expand-translate"
    COT = "cot"
    REPHRASE = "rephrase"


# Strategies that write in the target language; the rest write in the query's language.
CROSS_LINGUAL = (Strategy.TRANSLATE.value, Strategy.EXPAND_TRANSLATE.value)
STRATEGIES = Strategy.choices()

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ro": "Romanian", "ru": "Russian", "el": "Greek", "tr": "Turkish", "ar": "Arabic",
    "th": "Thai", "zh": "Chinese", "hi": "Hindi", "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese",
    "pl": "Polish", "uk": "Ukrainian", "cs": "Czech", "sv": "Swedish", "fa": "Persian", "he": "Hebrew",
    "id": "Indonesian", "bn": "Bengali", "ur": "Urdu", "sw": "Swahili", "fi": "Finnish", "hu": "Hungarian",
}

# Five questions, the same in every language (translations by the project); the last two show that names
# and years carry over.
EXAMPLE_QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "When was the first bridge over the river built?",
        "How many players are on a football team?",
        "Why do leaves change colour in autumn?",
        "Who founded the company Siemens in 1847?",
        "In which city did Marie Curie study physics?",
    ),
    "es": (
        "¿Cuándo se construyó el primer puente sobre el río?",
        "¿Cuántos jugadores hay en un equipo de fútbol?",
        "¿Por qué cambian de color las hojas en otoño?",
        "¿Quién fundó la empresa Siemens en 1847?",
        "¿En qué ciudad estudió física Marie Curie?",
    ),
    "de": (
        "Wann wurde die erste Brücke über den Fluss gebaut?",
        "Wie viele Spieler hat eine Fußballmannschaft?",
        "Warum verfärben sich die Blätter im Herbst?",
        "Wer gründete 1847 das Unternehmen Siemens?",
        "In welcher Stadt studierte Marie Curie Physik?",
    ),
    "fr": (
        "Quand le premier pont sur la rivière a-t-il été construit ?",
        "Combien de joueurs compte une équipe de football ?",
        "Pourquoi les feuilles changent-elles de couleur en automne ?",
        "Qui a fondé l'entreprise Siemens en 1847 ?",
        "Dans quelle ville Marie Curie a-t-elle étudié la physique ?",
    ),
    "it": (
        "Quando è stato costruito il primo ponte sul fiume?",
        "Quanti giocatori ci sono in una squadra di calcio?",
        "Perché le foglie cambiano colore in autunno?",
        "Chi fondò l'azienda Siemens nel 1847?",
        "In quale città Marie Curie studiò fisica?",
    ),
    "pt": (
        "Quando foi construída a primeira ponte sobre o rio?",
        "Quantos jogadores há em uma equipe de futebol?",
        "Por que as folhas mudam de cor no outono?",
        "Quem fundou a empresa Siemens em 1847?",
        "Em que cidade Marie Curie estudou física?",
    ),
    "nl": (
        "Wanneer werd de eerste brug over de rivier gebouwd?",
        "Hoeveel spelers telt een voetbalteam?",
        "Waarom verkleuren de bladeren in de herfst?",
        "Wie richtte in 1847 het bedrijf Siemens op?",
        "In welke stad studeerde Marie Curie natuurkunde?",
    ),
    "ro": (
        "Când a fost construit primul pod peste râu?",
        "Câți jucători are o echipă de fotbal?",
        "De ce își schimbă frunzele culoarea toamna?",
        "Cine a fondat compania Siemens în 1847?",
        "În ce oraș a studiat Marie Curie fizica?",
    ),
    "ru": (
        "Когда был построен первый мост через реку?",
        "Сколько игроков в футбольной команде?",
        "Почему листья меняют цвет осенью?",
        "Кто основал компанию Siemens в 1847 году?",
        "В каком городе Мария Кюри изучала физику?",
    ),
    "el": (
        "Πότε χτίστηκε η πρώτη γέφυρα πάνω από τον ποταμό;",
        "Πόσοι παίκτες υπάρχουν σε μια ποδοσφαιρική ομάδα;",
        "Γιατί τα φύλλα αλλάζουν χρώμα το φθινόπωρο;",
        "Ποιος ίδρυσε την εταιρεία Siemens το 1847;",
        "Σε ποια πόλη σπούδασε φυσική η Μαρί Κιουρί;",
    ),
    "tr": (
        "Nehir üzerindeki ilk köprü ne zaman inşa edildi?",
        "Bir futbol takımında kaç oyuncu vardır?",
        "Yapraklar sonbaharda neden renk değiştirir?",
        "Siemens şirketini 1847'de kim kurdu?",
        "Marie Curie hangi şehirde fizik okudu?",
    ),
    "ar": (
        "متى بني أول جسر فوق النهر؟",
        "كم عدد اللاعبين في فريق كرة القدم؟",
        "لماذا تتغير ألوان الأوراق في الخريف؟",
        "من أسس شركة سيمنز عام 1847؟",
        "في أي مدينة درست ماري كوري الفيزياء؟",
    ),
    "th": (
        "สะพานแห่งแรกข้ามแม่น้ำสร้างขึ้นเมื่อใด",
        "ทีมฟุตบอลมีผู้เล่นกี่คน",
        "ทำไมใบไม้จึงเปลี่ยนสีในฤดูใบไม้ร่วง",
        "ใครก่อตั้งบริษัทซีเมนส์ในปี 1847",
        "มารี กูรี เรียนฟิสิกส์ที่เมืองใด",
    ),
    "zh": (
        "河上的第一座桥是什么时候建成的？",
        "一支足球队有多少名球员？",
        "为什么树叶在秋天会变色？",
        "谁在1847年创立了西门子公司？",
        "玛丽·居里在哪个城市学习物理？",
    ),
    "hi": (
        "नदी पर पहला पुल कब बनाया गया था?",
        "एक फुटबॉल टीम में कितने खिलाड़ी होते हैं?",
        "पतझड़ में पत्तियों का रंग क्यों बदलता है?",
        "1847 में सीमेंस कंपनी की स्थापना किसने की?",
        "मैरी क्यूरी ने किस शहर में भौतिकी की पढ़ाई की?",
    ),
    "ja": (
        "川に最初の橋が架けられたのはいつですか？",
        "サッカーチームには何人の選手がいますか？",
        "秋になると葉の色が変わるのはなぜですか？",
        "1847年にシーメンス社を創業したのは誰ですか？",
        "マリー・キュリーはどの都市で物理学を学びましたか？",
    ),
    "ko": (
        "강 위의 첫 번째 다리는 언제 지어졌습니까?",
        "축구 팀에는 몇 명의 선수가 있습니까?",
        "가을에 나뭇잎의 색이 변하는 이유는 무엇입니까?",
        "1847년에 지멘스 회사를 설립한 사람은 누구입니까?",
        "마리 퀴리는 어느 도시에서 물리학을 공부했습니까?",
    ),
    "vi": (
        "Cây cầu đầu tiên bắc qua sông được xây dựng khi nào?",
        "Một đội bóng đá có bao nhiêu cầu thủ?",
        "Tại sao lá cây đổi màu vào mùa thu?",
        "Ai đã thành lập công ty Siemens vào năm 1847?",
        "Marie Curie học vật lý ở thành phố nào?",
    ),
}

# Short passages answering the first two questions, for pseudo-documents written in a language.
EXAMPLE_PASSAGES: dict[str, tuple[str, str]] = {
    "en": ("The first bridge over the river was built of wood in 1620 and was replaced by a stone bridge in 1784.",
           "A football team has eleven players on the field, including the goalkeeper, and may use up to five substitutes."),
    "es": ("El primer puente sobre el río se construyó en madera en 1620 y fue sustituido por un puente de piedra en 1784.",
           "Un equipo de fútbol tiene once jugadores en el campo, incluido el portero, y puede hacer hasta cinco cambios."),
    "de": ("Die erste Brücke über den Fluss wurde 1620 aus Holz gebaut und 1784 durch eine Steinbrücke ersetzt.",
           "Eine Fußballmannschaft hat elf Spieler auf dem Feld, einschließlich des Torwarts, und darf bis zu fünf Auswechslungen vornehmen."),
    "fr": ("Le premier pont sur la rivière fut construit en bois en 1620 et remplacé par un pont de pierre en 1784.",
           "Une équipe de football compte onze joueurs sur le terrain, gardien compris, et peut effectuer jusqu'à cinq remplacements."),
    "ro": ("Primul pod peste râu a fost construit din lemn în 1620 și a fost înlocuit cu un pod de piatră în 1784.",
           "O echipă de fotbal are unsprezece jucători pe teren, inclusiv portarul, și poate face până la cinci schimbări."),
    "ru": ("Первый мост через реку был построен из дерева в 1620 году и заменён каменным мостом в 1784 году.",
           "В футбольной команде на поле одиннадцать игроков, включая вратаря, и можно сделать до пяти замен."),
    "el": ("Η πρώτη γέφυρα πάνω από τον ποταμό χτίστηκε από ξύλο το 1620 και αντικαταστάθηκε από πέτρινη γέφυρα το 1784.",
           "Μια ποδοσφαιρική ομάδα έχει έντεκα παίκτες στο γήπεδο, μαζί με τον τερματοφύλακα, και μπορεί να κάνει έως πέντε αλλαγές."),
    "tr": ("Nehir üzerindeki ilk köprü 1620'de ahşaptan yapıldı ve 1784'te yerini taş bir köprüye bıraktı.",
           "Bir futbol takımında sahada kaleci dahil on bir oyuncu bulunur ve en fazla beş oyuncu değişikliği yapılabilir."),
    "ar": ("بني أول جسر فوق النهر من الخشب عام 1620 واستبدل بجسر حجري عام 1784.",
           "يتكون فريق كرة القدم من أحد عشر لاعبا في الملعب بمن فيهم حارس المرمى، ويمكنه إجراء ما يصل إلى خمسة تبديلات."),
    "th": ("สะพานแห่งแรกข้ามแม่น้ำสร้างด้วยไม้ในปี 1620 และถูกแทนที่ด้วยสะพานหินในปี 1784",
           "ทีมฟุตบอลมีผู้เล่นในสนามสิบเอ็ดคนรวมผู้รักษาประตู และเปลี่ยนตัวผู้เล่นได้สูงสุดห้าคน"),
    "zh": ("河上的第一座桥于1620年用木头建成，1784年被一座石桥取代。",
           "一支足球队在场上有十一名球员，包括守门员，最多可以换五名替补。"),
    "hi": ("नदी पर पहला पुल 1620 में लकड़ी से बनाया गया था और 1784 में उसकी जगह पत्थर का पुल बना।",
           "एक फुटबॉल टीम में मैदान पर गोलकीपर सहित ग्यारह खिलाड़ी होते हैं और वह पाँच खिलाड़ियों तक को बदल सकती है।"),
    "ja": ("川に最初の橋は1620年に木で造られ、1784年に石の橋に架け替えられた。",
           "サッカーチームは、ゴールキーパーを含めて11人の選手がフィールドに立ち、最大5人まで交代できる。"),
    "vi": ("Cây cầu đầu tiên bắc qua sông được xây bằng gỗ vào năm 1620 và được thay bằng cầu đá vào năm 1784.",
           "Một đội bóng đá có mười một cầu thủ trên sân, kể cả thủ môn, và được thay tối đa năm người."),
}

# English-only examples for the strategies that write in the query's own language.
_KEYWORDS = (("When was the first bridge over the river built?", "first bridge, river, built, construction, year, history"),
             ("How many players are on a football team?", "football team, players, number, eleven, squad, goalkeeper"))
_COT = (("How many players are on a football team?",
         "A team plays with a goalkeeper and ten outfield players, so eleven players are on the field.",
         "eleven"),)
_REPHRASE = (("Why do leaves change colour in autumn?",
              "What makes the leaves of trees turn yellow, red or brown in the autumn season?"),)


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


@dataclass(frozen=True)
class Prompt:
    """One prompt in structured form: an instruction, worked examples (input, answer), and the input.

    A base model gets it as completion text (`prefix` + `suffix`, the answer follows the last label); an
    instruction-tuned model as chat turns (`messages`: the instruction as the system turn, each example a
    user/assistant exchange). `stop` ends the answer; `single_line` answers are one line long."""

    instruction: str
    examples: tuple[tuple[str, str], ...]
    input_label: str
    answer_label: str
    input: str
    stop: tuple[str, ...]
    single_line: bool
    shots: Shots

    @property
    def prefix(self) -> str:
        """The part shared by every query: instruction and examples (the model keeps it in memory)."""
        shots = "".join(f"{self.input_label}: {x}\n{self.answer_label}: {y}\n\n" for x, y in self.examples)
        return f"{self.instruction}\n\n{shots}"

    @property
    def suffix(self) -> str:
        return f"{self.input_label}: {self.input}\n{self.answer_label}:"

    @property
    def text(self) -> str:
        return self.prefix + self.suffix

    def messages(self) -> list[dict[str, str]]:
        """Chat turns; the last user turn is the only one that depends on the query."""
        what = "one line" if self.single_line else "a short paragraph"
        turns = [{"role": "system", "content": f"{self.instruction} Reply with {what}: the {self.answer_label} "
                                               f"only, with no explanation and no quotes."}]
        for x, y in self.examples:
            turns += [{"role": "user", "content": f"{self.input_label}: {x}"}, {"role": "assistant", "content": y}]
        return turns + [{"role": "user", "content": f"{self.input_label}: {self.input}"}]


def has_examples(strategy: str, query_lang: Optional[str], target_lang: str) -> bool:
    if strategy == "translate":
        return query_lang in EXAMPLE_QUESTIONS and target_lang in EXAMPLE_QUESTIONS
    if strategy == "expand-translate":
        return query_lang in EXAMPLE_QUESTIONS and target_lang in EXAMPLE_PASSAGES
    if strategy in ("query2doc", "hyde"):
        return query_lang in EXAMPLE_QUESTIONS and query_lang in EXAMPLE_PASSAGES
    return True  # English examples show the form; the answer follows the query


def build_prompt(strategy: Union[Strategy, str], query: str, query_lang: Optional[str], target_lang: str,
                 shots: Union[Shots, str]) -> Prompt:
    """The prompt for one (strategy, query, target language); `shots` is zero or few. Few-shot falls back to
    zero-shot when the languages have no examples."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if shots not in (Shots.ZERO, Shots.FEW):
        raise ValueError(f"build_prompt needs shots zero or few, got {shots!r} (the expander resolves auto)")
    strategy, shots = Strategy(strategy), Shots(shots)
    if shots == Shots.FEW and not has_examples(strategy, query_lang, target_lang):
        shots = Shots.ZERO
    src = language_name(query_lang) if query_lang else "Question"
    tgt = language_name(target_lang)
    q = " ".join(query.split())
    few = shots == "few"
    ql = query_lang or "en"
    one_line, paragraph = ("\n",), ("\n\n", "\nQuestion:")
    if strategy == "translate":
        head = f"Translate from {src} to {tgt}." if query_lang else f"Translate into {tgt}."
        examples = tuple(zip(EXAMPLE_QUESTIONS[ql], EXAMPLE_QUESTIONS[target_lang])) if few else ()
        return Prompt(head, examples, src, tgt, q, one_line, True, shots)
    if strategy == "expand-translate":
        examples = tuple(zip(EXAMPLE_QUESTIONS[ql], EXAMPLE_PASSAGES[target_lang])) if few else ()
        return Prompt(f"Write a short {tgt} passage that answers the question.", examples, "Question",
                      f"Passage ({tgt})", q, paragraph, False, shots)
    if strategy in ("query2doc", "hyde"):
        examples = tuple(zip(EXAMPLE_QUESTIONS[ql], EXAMPLE_PASSAGES[ql])) if few else ()
        return Prompt("Write a short passage that answers the question.", examples, "Question", "Passage", q,
                      paragraph, False, shots)
    if strategy == "keywords":
        return Prompt("List keywords and related terms for the search query.", _KEYWORDS if few else (), "Query",
                      "Keywords", q, one_line, True, shots)
    if strategy == "cot":
        examples = tuple((x, f"{r}\nAnswer: {a}") for x, r, a in _COT) if few else ()
        return Prompt("Answer the question. Think step by step, then give the answer.", examples, "Question",
                      "Reasoning", q, paragraph, False, shots)
    # rephrase-and-respond: a fuller wording of the question, which is what retrieval can use
    return Prompt("Rephrase and expand the question so that it is clearer.", _REPHRASE if few else (), "Question",
                  "Rephrased", q, one_line, True, shots)
