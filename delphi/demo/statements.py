"""The demo study's competency statements, ten domains from the panel themes.

Each statement is behaviourally specific ("The responder can ..."), has a plain-language
wording and Spanish versions of both, and the provenance "expert-panel theme".

`importance` is not a finding: it is the mean rating the *simulated* panel is drawn around
(see `simulation.py`), chosen so that round 1 ends with a realistic mix of consensus in, no
consensus and consensus out.
"""

from typing import NamedTuple


class DemoStatement(NamedTuple):
    code: str
    domain: str
    text: str
    plain: str
    text_es: str
    plain_es: str
    importance: float


S = DemoStatement

STATEMENTS = [
    # Engagement and trust
    S(
        "ENG-1",
        "ENG",
        "The responder can introduce themselves, explain who they are and why they have come, "
        "and ask the person how they would like to be addressed.",
        "Says who they are and why they came, and asks what the person wants to be called.",
        "Quien responde a la crisis puede presentarse, explicar quién es y por qué ha venido, "
        "y preguntar a la persona cómo prefiere que la llamen.",
        "Dice quién es y por qué vino, y pregunta cómo quiere que la llamen.",
        8.0,
    ),
    S(
        "ENG-2",
        "ENG",
        "The responder can adjust distance, posture, tone of voice and pace so that the person "
        "feels physically and emotionally safe.",
        "Keeps a comfortable distance and a calm manner so the person feels safe.",
        "Quien responde a la crisis puede ajustar la distancia, la postura, el tono de voz y el "
        "ritmo para que la persona se sienta segura física y emocionalmente.",
        "Mantiene una distancia cómoda y una actitud tranquila para que la persona se sienta "
        "segura.",
        7.9,
    ),
    S(
        "ENG-3",
        "ENG",
        "The responder can explain in plain language what will happen next and what choices "
        "the person has, and keeps every promise they make.",
        "Explains simply what happens next and what the person can choose, and keeps promises.",
        "Quien responde a la crisis puede explicar con palabras sencillas qué pasará después y "
        "qué opciones tiene la persona, y cumple cada promesa que hace.",
        "Explica con sencillez qué va a pasar y qué puede elegir la persona, y cumple lo que "
        "promete.",
        7.8,
    ),
    S(
        "ENG-4",
        "ENG",
        "The responder can build rapport with people who distrust police or health services, "
        "acknowledging their past negative experiences without becoming defensive.",
        "Earns the trust of people who have had bad experiences with police or services.",
        "Quien responde a la crisis puede crear un vínculo con personas que desconfían de la "
        "policía o de los servicios de salud, reconociendo sus malas experiencias anteriores "
        "sin ponerse a la defensiva.",
        "Se gana la confianza de personas que han tenido malas experiencias con la policía o "
        "con los servicios.",
        7.4,
    ),
    S(
        "ENG-5",
        "ENG",
        "The responder can work respectfully across cultures and languages, arranging a "
        "qualified interpreter rather than relying on family members or bystanders.",
        "Respects the person's culture and gets a trained interpreter when needed, not a relative.",
        "Quien responde a la crisis puede trabajar con respeto entre culturas e idiomas, y "
        "recurrir a un intérprete calificado en lugar de depender de familiares o testigos.",
        "Respeta la cultura de la persona y, si hace falta, pide un intérprete profesional, "
        "no a un familiar.",
        6.6,
    ),
    # Understanding symptoms, stress and trauma
    S(
        "SYM-1",
        "SYM",
        "The responder can recognise common signs of psychosis, mania, severe depression and "
        "intoxication, and tell them apart from behaviour that is merely unusual.",
        "Knows the signs of common mental-health crises and of being drunk or high.",
        "Quien responde a la crisis puede reconocer los signos habituales de psicosis, manía, "
        "depresión grave e intoxicación, y distinguirlos de una conducta que solo es inusual.",
        "Conoce las señales de las crisis de salud mental más comunes y de la intoxicación.",
        8.0,
    ),
    S(
        "SYM-2",
        "SYM",
        "The responder can recognise a medical emergency that may look like a mental-health "
        "crisis (for example low blood sugar, head injury, delirium or overdose) and call for "
        "medical help.",
        "Notices when the problem may be medical, not mental, and calls for medical help.",
        "Quien responde a la crisis puede reconocer una emergencia médica que parezca una "
        "crisis de salud mental (por ejemplo, hipoglucemia, un golpe en la cabeza, delirio o "
        "sobredosis) y pedir ayuda médica.",
        "Se da cuenta cuando el problema puede ser médico y no mental, y pide ayuda médica.",
        8.2,
    ),
    S(
        "SYM-3",
        "SYM",
        "The responder can apply trauma-informed practice, avoiding unnecessary touch, sudden "
        "movements, raised voices and loss of control that may re-traumatise the person.",
        "Avoids anything that could bring back past trauma, such as grabbing or shouting.",
        "Quien responde a la crisis puede aplicar una atención informada sobre el trauma y "
        "evitar el contacto físico innecesario, los movimientos bruscos, los gritos y la "
        "pérdida de control que puedan volver a traumatizar a la persona.",
        "Evita lo que pueda revivir un trauma, como agarrar a la persona o gritarle.",
        7.5,
    ),
    S(
        "SYM-4",
        "SYM",
        "The responder can recognise how acute stress affects a person's ability to listen, "
        "remember and decide, and adjusts what they ask of the person.",
        "Understands that a person in crisis may not take in much, and asks for less.",
        "Quien responde a la crisis puede reconocer cómo el estrés agudo afecta la capacidad "
        "de una persona para escuchar, recordar y decidir, y ajusta lo que le pide.",
        "Entiende que una persona en crisis puede asimilar poco, y le pide menos.",
        7.3,
    ),
    S(
        "SYM-5",
        "SYM",
        "The responder can recognise how autism, intellectual disability and dementia may "
        "present in a crisis, and adapts their communication accordingly.",
        "Adapts to people with autism, intellectual disability or dementia.",
        "Quien responde a la crisis puede reconocer cómo se manifiestan el autismo, la "
        "discapacidad intelectual y la demencia en una crisis, y adapta su forma de "
        "comunicarse.",
        "Se adapta a personas con autismo, discapacidad intelectual o demencia.",
        7.0,
    ),
    S(
        "SYM-6",
        "SYM",
        "The responder can make a working psychiatric diagnosis on scene to guide where the "
        "person should go.",
        "Decides on the spot which mental illness the person has.",
        "Quien responde a la crisis puede establecer en el lugar un diagnóstico psiquiátrico "
        "provisional para decidir adónde debe ir la persona.",
        "Decide en el momento qué enfermedad mental tiene la persona.",
        2.4,
    ),
    # Communication and de-escalation
    S(
        "COM-1",
        "COM",
        "The responder can use active listening (open questions, reflecting feelings and "
        "summarising) so that the person feels heard.",
        "Listens carefully and shows the person they have been heard.",
        "Quien responde a la crisis puede practicar la escucha activa (preguntas abiertas, "
        "reflejar emociones y resumir) para que la persona se sienta escuchada.",
        "Escucha con atención y demuestra a la persona que la ha escuchado.",
        8.3,
    ),
    S(
        "COM-2",
        "COM",
        "The responder can use a calm voice, short sentences and a slow pace to reduce agitation.",
        "Speaks calmly, slowly and simply to help the person calm down.",
        "Quien responde a la crisis puede usar una voz tranquila, frases cortas y un ritmo "
        "pausado para reducir la agitación.",
        "Habla con calma, despacio y con sencillez para ayudar a la persona a tranquilizarse.",
        8.1,
    ),
    S(
        "COM-3",
        "COM",
        "The responder can recognise rising agitation early and change their approach before "
        "the situation becomes unsafe.",
        "Notices early when things are heating up and changes approach.",
        "Quien responde a la crisis puede reconocer a tiempo el aumento de la agitación y "
        "cambiar de estrategia antes de que la situación se vuelva peligrosa.",
        "Se da cuenta pronto de que la tensión sube y cambia su forma de actuar.",
        8.2,
    ),
    S(
        "COM-4",
        "COM",
        "The responder can offer the person small, concrete choices to restore a sense of control.",
        "Gives the person simple choices so they feel more in control.",
        "Quien responde a la crisis puede ofrecer a la persona opciones pequeñas y concretas "
        "para devolverle la sensación de control.",
        "Ofrece opciones sencillas para que la persona sienta más control.",
        7.4,
    ),
    S(
        "COM-5",
        "COM",
        "The responder can keep a conversation going through a closed door or by phone when "
        "face-to-face contact is not safe.",
        "Can talk someone down through a door or on the phone.",
        "Quien responde a la crisis puede mantener una conversación a través de una puerta "
        "cerrada o por teléfono cuando el contacto cara a cara no es seguro.",
        "Puede calmar a alguien hablando a través de una puerta o por teléfono.",
        6.4,
    ),
    # Empathy and compassion
    S(
        "EMP-1",
        "EMP",
        "The responder can show genuine empathy, acknowledging the person's distress without "
        "judgement.",
        "Shows real care for how the person feels, without judging.",
        "Quien responde a la crisis puede mostrar una empatía genuina y reconocer el "
        "sufrimiento de la persona sin juzgarla.",
        "Muestra interés real por cómo se siente la persona, sin juzgarla.",
        8.2,
    ),
    S(
        "EMP-2",
        "EMP",
        "The responder can treat the person with dignity, using respectful, non-stigmatising "
        "language in front of others and in written records.",
        "Treats the person with respect, in words and in writing.",
        "Quien responde a la crisis puede tratar a la persona con dignidad y usar un lenguaje "
        "respetuoso y no estigmatizante delante de otras personas y en los registros escritos.",
        "Trata a la persona con respeto, al hablar y al escribir sobre ella.",
        7.9,
    ),
    S(
        "EMP-3",
        "EMP",
        "The responder can stay patient and compassionate when the person is hostile, "
        "repeats themselves or refuses help.",
        "Stays patient and kind even when the person is angry or says no.",
        "Quien responde a la crisis puede mantener la paciencia y la compasión cuando la "
        "persona se muestra hostil, se repite o rechaza la ayuda.",
        "Mantiene la paciencia y la amabilidad aunque la persona esté enojada o diga que no.",
        7.6,
    ),
    S(
        "EMP-4",
        "EMP",
        "The responder can recognise their own stress reactions during and after a call and "
        "uses supervision or peer support to stay well.",
        "Notices their own stress and gets support to stay well.",
        "Quien responde a la crisis puede reconocer sus propias reacciones de estrés durante "
        "una llamada y después, y recurre a la supervisión o al apoyo entre pares para "
        "mantenerse bien.",
        "Reconoce su propio estrés y busca apoyo para cuidarse.",
        6.9,
    ),
    S(
        "EMP-5",
        "EMP",
        "The responder can recognise and set aside their own assumptions about race, poverty, "
        "homelessness and substance use.",
        "Does not let prejudice about race, poverty, homelessness or drug use affect the response.",
        "Quien responde a la crisis puede reconocer y dejar de lado sus propios prejuicios "
        "sobre la raza, la pobreza, la falta de vivienda y el consumo de sustancias.",
        "No deja que los prejuicios sobre raza, pobreza, falta de vivienda o consumo de drogas "
        "afecten su respuesta.",
        7.2,
    ),
    # Engaging family members
    S(
        "FAM-1",
        "FAM",
        "The responder can gather information from family members about the person's history, "
        "usual behaviour and what has helped before.",
        "Asks the family what the person is usually like and what has helped before.",
        "Quien responde a la crisis puede obtener de los familiares información sobre los "
        "antecedentes de la persona, su comportamiento habitual y lo que le ha ayudado antes.",
        "Pregunta a la familia cómo es la persona normalmente y qué le ha ayudado antes.",
        7.7,
    ),
    S(
        "FAM-2",
        "FAM",
        "The responder can support distressed family members, explaining what is happening "
        "and what they can do to help.",
        "Supports worried relatives and tells them how they can help.",
        "Quien responde a la crisis puede apoyar a los familiares angustiados, explicándoles "
        "qué está pasando y qué pueden hacer para ayudar.",
        "Apoya a los familiares preocupados y les dice cómo pueden ayudar.",
        7.3,
    ),
    S(
        "FAM-3",
        "FAM",
        "The responder can respect the person's privacy and wishes when deciding what to "
        "share with family members.",
        "Respects what the person wants kept private from family.",
        "Quien responde a la crisis puede respetar la privacidad y los deseos de la persona "
        "al decidir qué compartir con sus familiares.",
        "Respeta lo que la persona quiere mantener en privado ante su familia.",
        6.4,
    ),
    S(
        "FAM-4",
        "FAM",
        "The responder can involve family members in safety and follow-up planning when the "
        "person agrees.",
        "Includes the family in planning next steps, if the person agrees.",
        "Quien responde a la crisis puede incluir a los familiares en el plan de seguridad y "
        "de seguimiento cuando la persona está de acuerdo.",
        "Incluye a la familia en los próximos pasos, si la persona está de acuerdo.",
        7.0,
    ),
    S(
        "FAM-5",
        "FAM",
        "The responder can recognise when a family member's presence is escalating the "
        "situation and tactfully create space.",
        "Notices when a relative is making things worse and gently gives everyone space.",
        "Quien responde a la crisis puede reconocer cuando la presencia de un familiar está "
        "agravando la situación y crear espacio con tacto.",
        "Se da cuenta cuando un familiar empeora la situación y, con tacto, da espacio a todos.",
        7.5,
    ),
    S(
        "FAM-6",
        "FAM",
        "The responder can connect family members to support of their own, such as family "
        "peer groups or caregiver services.",
        "Helps relatives find support for themselves.",
        "Quien responde a la crisis puede poner a los familiares en contacto con apoyos para "
        "ellos mismos, como grupos de familias o servicios para cuidadores.",
        "Ayuda a los familiares a encontrar apoyo para sí mismos.",
        6.0,
    ),
    # Assessing risk, triggers and information
    S(
        "RSK-1",
        "RSK",
        "The responder can ask directly and calmly about suicidal thoughts, plans and access "
        "to means.",
        "Asks directly and calmly whether the person is thinking of suicide, and how.",
        "Quien responde a la crisis puede preguntar de forma directa y serena por "
        "pensamientos suicidas, planes y acceso a medios.",
        "Pregunta de forma directa y tranquila si la persona piensa en el suicidio y cómo.",
        8.3,
    ),
    S(
        "RSK-2",
        "RSK",
        "The responder can assess the risk of harm to others, including threats, weapons and "
        "any history of violence.",
        "Checks whether anyone else could get hurt: threats, weapons, past violence.",
        "Quien responde a la crisis puede evaluar el riesgo de daño a terceros, incluidas las "
        "amenazas, las armas y cualquier antecedente de violencia.",
        "Comprueba si otras personas podrían salir lastimadas: amenazas, armas, violencia "
        "anterior.",
        8.1,
    ),
    S(
        "RSK-3",
        "RSK",
        "The responder can identify what triggered the crisis and what has helped the person "
        "cope in the past.",
        "Finds out what set off the crisis and what has helped before.",
        "Quien responde a la crisis puede identificar qué desencadenó la crisis y qué le ha "
        "ayudado a la persona a sobrellevarla en el pasado.",
        "Averigua qué provocó la crisis y qué ha ayudado antes.",
        7.6,
    ),
    S(
        "RSK-4",
        "RSK",
        "The responder can use a structured screening tool, such as the Columbia Suicide "
        "Severity Rating Scale, and document the result.",
        "Uses a standard checklist for suicide risk and writes down the result.",
        "Quien responde a la crisis puede usar un instrumento de detección estructurado, como "
        "la Escala Columbia para Evaluar la Severidad del Riesgo Suicida, y registrar el "
        "resultado.",
        "Usa una lista estándar para valorar el riesgo de suicidio y anota el resultado.",
        6.5,
    ),
    S(
        "RSK-5",
        "RSK",
        "The responder can combine information from the caller, the person, family and "
        "available records, and reassess it as the situation changes, to choose the least "
        "restrictive safe option.",
        "Puts together what everyone says to choose the safest option with the least force, "
        "and keeps checking.",
        "Quien responde a la crisis puede combinar la información de quien llamó, de la "
        "persona, de la familia y de los registros disponibles, y revisarla a medida que "
        "cambia la situación, para elegir la opción segura menos restrictiva.",
        "Reúne lo que dicen todos para elegir la opción segura que menos limite a la persona, "
        "y lo revisa sobre la marcha.",
        7.8,
    ),
    # Connecting to resources
    S(
        "RES-1",
        "RES",
        "The responder can connect the person to the right service (crisis stabilisation, "
        "mobile follow-up, outpatient care, housing or substance-use treatment) through a "
        "warm hand-off.",
        "Links the person to the right service and makes the introduction in person.",
        "Quien responde a la crisis puede conectar a la persona con el servicio adecuado "
        "(estabilización de crisis, seguimiento móvil, atención ambulatoria, vivienda o "
        "tratamiento por consumo de sustancias) mediante una derivación acompañada.",
        "Conecta a la persona con el servicio adecuado y la presenta en persona.",
        8.0,
    ),
    S(
        "RES-2",
        "RES",
        "The responder can keep up to date on local services, their eligibility rules and how "
        "to reach them outside office hours.",
        "Knows which local services exist, who they serve and how to reach them at night.",
        "Quien responde a la crisis puede mantenerse al día sobre los servicios locales, sus "
        "requisitos y cómo acceder a ellos fuera del horario de oficina.",
        "Sabe qué servicios hay en la zona, a quién atienden y cómo contactarlos de noche.",
        7.4,
    ),
    S(
        "RES-3",
        "RES",
        "The responder can write a short, practical safety plan with the person before leaving.",
        "Makes a simple safety plan together with the person before leaving.",
        "Quien responde a la crisis puede elaborar con la persona un plan de seguridad breve "
        "y práctico antes de irse.",
        "Hace un plan de seguridad sencillo junto con la persona antes de irse.",
        7.6,
    ),
    S(
        "RES-4",
        "RES",
        "The responder can arrange a follow-up contact within 24 to 72 hours.",
        "Makes sure someone checks in with the person within three days.",
        "Quien responde a la crisis puede organizar un contacto de seguimiento en un plazo de "
        "24 a 72 horas.",
        "Se asegura de que alguien contacte a la persona en los tres días siguientes.",
        7.0,
    ),
    S(
        "RES-5",
        "RES",
        "The responder can help with practical needs behind the crisis, such as food, "
        "shelter, medication or transport.",
        "Helps with everyday needs like food, a place to stay, medicine or a ride.",
        "Quien responde a la crisis puede ayudar con las necesidades prácticas que hay detrás "
        "de la crisis, como comida, alojamiento, medicamentos o transporte.",
        "Ayuda con necesidades básicas como comida, un lugar donde quedarse, medicinas o "
        "transporte.",
        6.3,
    ),
    # Safety skills and collaboration with law enforcement
    S(
        "SAF-1",
        "SAF",
        "The responder can assess scene safety on arrival (exits, weapons, other people, "
        "animals) and position themselves accordingly.",
        "Checks the scene for dangers on arrival and stays in a safe spot.",
        "Quien responde a la crisis puede evaluar la seguridad del lugar al llegar (salidas, "
        "armas, otras personas, animales) y situarse en consecuencia.",
        "Revisa los peligros del lugar al llegar y se coloca en un sitio seguro.",
        7.9,
    ),
    S(
        "SAF-2",
        "SAF",
        "The responder can decide, using agreed criteria, when to request police support, and "
        "explain that decision to the person.",
        "Knows when to call the police, using agreed rules, and tells the person why.",
        "Quien responde a la crisis puede decidir, según criterios acordados, cuándo pedir "
        "apoyo policial, y explicar esa decisión a la persona.",
        "Sabe cuándo llamar a la policía según reglas acordadas y le explica a la persona por qué.",
        7.3,
    ),
    S(
        "SAF-3",
        "SAF",
        "The responder can work alongside police on a joint call with clearly agreed roles, "
        "taking the lead on engagement when it is safe to do so.",
        "Works with police on shared calls, each knowing their role, and leads the talking "
        "when it is safe.",
        "Quien responde a la crisis puede trabajar junto a la policía en una intervención "
        "conjunta con funciones claramente acordadas, y tomar la iniciativa en el "
        "acercamiento cuando sea seguro.",
        "Trabaja con la policía en intervenciones conjuntas, cada cual con su papel, y lleva "
        "la conversación cuando es seguro.",
        7.0,
    ),
    S(
        "SAF-4",
        "SAF",
        "The responder can use verbal and physical self-protection techniques to disengage "
        "safely from an assault.",
        "Knows how to get away safely if someone attacks.",
        "Quien responde a la crisis puede usar técnicas verbales y físicas de autoprotección "
        "para apartarse de una agresión de forma segura.",
        "Sabe cómo alejarse con seguridad si alguien le ataca.",
        5.9,
    ),
    S(
        "SAF-5",
        "SAF",
        "The responder can debrief with law-enforcement partners after joint calls to improve "
        "shared protocols.",
        "Reviews joint calls with police afterwards to improve how they work together.",
        "Quien responde a la crisis puede analizar con sus colegas de las fuerzas del orden "
        "las intervenciones conjuntas para mejorar los protocolos compartidos.",
        "Repasa con la policía las intervenciones conjuntas para mejorar el trabajo en equipo.",
        6.2,
    ),
    S(
        "SAF-6",
        "SAF",
        "The responder can restrain a person physically when they refuse to go to hospital.",
        "Holds a person down if they refuse to go to hospital.",
        "Quien responde a la crisis puede inmovilizar físicamente a una persona que se niega "
        "a ir al hospital.",
        "Sujeta a la persona si se niega a ir al hospital.",
        2.2,
    ),
    # 911 triage
    S(
        "TRI-1",
        "TRI",
        "The 911 call-taker can recognise a behavioral-health crisis from the caller's "
        "description, even when the call would otherwise be coded as disorder, suspicious "
        "person or domestic.",
        "The 911 call-taker can tell when a call is really about a mental-health crisis.",
        "Quien atiende la llamada al 911 puede reconocer una crisis de salud conductual por "
        "la descripción de quien llama, aunque la llamada se fuera a clasificar como "
        "desorden, persona sospechosa o violencia doméstica.",
        "Quien atiende el 911 sabe reconocer cuándo una llamada trata en realidad de una "
        "crisis de salud mental.",
        7.7,
    ),
    S(
        "TRI-2",
        "TRI",
        "The 911 call-taker can ask structured questions about weapons, violence, medical "
        "needs and intoxication to decide whether a non-police team can respond.",
        "The 911 call-taker asks set questions to decide whether a crisis team can go without "
        "police.",
        "Quien atiende la llamada al 911 puede hacer preguntas estructuradas sobre armas, "
        "violencia, necesidades médicas e intoxicación para decidir si puede acudir un equipo "
        "sin policía.",
        "Quien atiende el 911 hace preguntas fijas para decidir si el equipo de crisis puede "
        "ir sin policía.",
        8.0,
    ),
    S(
        "TRI-3",
        "TRI",
        "The 911 call-taker can begin de-escalation by phone, keeping the caller and the "
        "person calm until the team arrives.",
        "The 911 call-taker helps keep everyone calm on the phone until the team arrives.",
        "Quien atiende la llamada al 911 puede iniciar la desescalada por teléfono y mantener "
        "la calma de quien llama y de la persona hasta que llegue el equipo.",
        "Quien atiende el 911 ayuda a mantener la calma por teléfono hasta que llegue el equipo.",
        6.8,
    ),
    S(
        "TRI-4",
        "TRI",
        "The 911 call-taker can transfer the call to, or share it with, the 988 crisis line "
        "when that is the better response.",
        "The 911 call-taker can pass the call to the 988 crisis line when that is better.",
        "Quien atiende la llamada al 911 puede transferir la llamada a la línea de crisis 988, "
        "o compartirla con ella, cuando esa sea la mejor respuesta.",
        "Quien atiende el 911 puede pasar la llamada a la línea de crisis 988 cuando sea mejor.",
        6.9,
    ),
    S(
        "TRI-5",
        "TRI",
        "The 911 call-taker can pass clear, relevant information to the responding team and "
        "update them as the situation changes.",
        "The 911 call-taker tells the team what they need to know and keeps them updated.",
        "Quien atiende la llamada al 911 puede transmitir información clara y pertinente al "
        "equipo que acude y mantenerlo al día a medida que cambia la situación.",
        "Quien atiende el 911 le dice al equipo lo que necesita saber y lo mantiene al día.",
        7.9,
    ),
    # The value of lived experience
    S(
        "LIV-1",
        "LIV",
        "The responder can, when it helps, share their own lived experience of mental-health "
        "or substance-use recovery to build hope and connection.",
        "Shares their own recovery story, when it helps, to give hope.",
        "Quien responde a la crisis puede, cuando ayude, compartir su propia experiencia "
        "vivida de recuperación en salud mental o consumo de sustancias para generar "
        "esperanza y conexión.",
        "Cuenta su propia historia de recuperación, cuando ayuda, para dar esperanza.",
        5.8,
    ),
    S(
        "LIV-2",
        "LIV",
        "The responder can judge when sharing personal experience helps the person and when "
        "it does not.",
        "Knows when telling their own story helps and when it does not.",
        "Quien responde a la crisis puede juzgar cuándo compartir su experiencia personal "
        "ayuda a la persona y cuándo no.",
        "Sabe cuándo contar su propia historia ayuda y cuándo no.",
        6.7,
    ),
    S(
        "LIV-3",
        "LIV",
        "The responder can draw on knowledge of the local community (neighbourhoods, "
        "languages, informal supports) to engage people.",
        "Uses what they know about the neighbourhood and its people to connect.",
        "Quien responde a la crisis puede aprovechar su conocimiento de la comunidad local "
        "(barrios, idiomas, apoyos informales) para acercarse a las personas.",
        "Usa lo que sabe del barrio y de su gente para conectar con la persona.",
        7.2,
    ),
    S(
        "LIV-4",
        "LIV",
        "The responder can convey hope that the crisis will pass and that recovery is possible.",
        "Helps the person believe that things can get better.",
        "Quien responde a la crisis puede transmitir la esperanza de que la crisis pasará y "
        "de que la recuperación es posible.",
        "Ayuda a la persona a creer que las cosas pueden mejorar.",
        7.5,
    ),
    S(
        "LIV-5",
        "LIV",
        "The responder can work as an equal member of a team of peers, clinicians and "
        "paramedics, valuing each role's expertise.",
        "Works as an equal with peers, clinicians and paramedics, respecting each one's skills.",
        "Quien responde a la crisis puede trabajar en pie de igualdad en un equipo de pares, "
        "profesionales clínicos y paramédicos, valorando la experiencia de cada función.",
        "Trabaja de igual a igual con pares, profesionales clínicos y paramédicos, y respeta "
        "lo que cada uno sabe.",
        7.6,
    ),
    S(
        "LIV-6",
        "LIV",
        "The responder needs a master's-level clinical licence to do this work safely.",
        "Must have a master's degree and a clinical licence.",
        "Quien responde a la crisis necesita una licencia clínica de nivel de maestría para "
        "hacer este trabajo con seguridad.",
        "Debe tener una maestría y una licencia clínica.",
        3.4,
    ),
]
